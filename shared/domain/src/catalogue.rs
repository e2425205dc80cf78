//! The catalogue: cities, stations, lines, departures and their seats, as Fliggy pulls them
//! (fliggy-bus.md §2.5, §2.6, §3.1–§3.4, §3.3.1, §3.10, §4.5).
//!
//! * [`model`]: the values and the pure rules of a departure (D, sale window, segment and
//!   fares, geofence, refund quote).
//! * [`queries`]: the reads behind from-cities, to-cities, lines, seats and stopped-schedules.
//! * [`file`] and [`import`]: the operator's catalogue file, its validation, and its
//!   idempotent application (change records, seat counters, coalesced `item.notify`).
//! * [`demo`]: the demo operator of local mode.
//!
//! # Store layout
//!
//! | Record | pk | sk | gsi1 pk | gsi1 sk |
//! |---|---|---|---|---|
//! | city | `CAT` | `CITY#<cityCode>` | – | – |
//! | line (current line + months holding its departures) | `CAT` | `LINE#<lineId>` | – | – |
//! | departure (full line snapshot, date, time, capacity, stop) | `DEP#<scheduleId>` | `DEP` | `LDEP#<lineId>#<yyyy-MM>` (month of its date) | `<yyyy-MM-dd>#D#<HH:mm>#<scheduleId>` |
//! | stopped departure (same record) | `DEP#<scheduleId>` | `DEP` | `STOPPED` | `<yyyy-MM-dd>T<HH:mm>#<scheduleId>` |
//! | seat counter (`count` = seats left) | `DEP#<scheduleId>` | `SEATS` | `LDEP#<lineId>#<yyyy-MM>` (month of `seatsDate`) | `<seatsDate>#S#<scheduleId>` |
//! | change record | `CHG#<scheduleId>` | `<rfc3339>#<random>` | `CHG#<yyyy-MM-dd>` (day of the change, GMT+8) | `<rfc3339>#<scheduleId>#<random>` |
//! | notify coalescing mark | `NTF#<fromCityCode>#<toCityCode>#<yyyy-MM-dd>` | `NTF` | – | – |
//!
//! `seatsDate` is the departure's first date; it stays when the date moves.
//!
//! Reads and their cost:
//!
//! * **seats** (§3.4), create order, refunds: `query("DEP#<scheduleId>", "")` returns the
//!   departure and its counter, exactly one round trip ([`load_departure`]).
//! * **from-cities / to-cities** (§3.1, §3.2): `query("CAT", "")`, one round trip; the
//!   partition holds one record per city and per line.
//! * **lines** (§3.3): the `CAT` query, then one index query per matching line and month of
//!   the sale window (`LDEP#<lineId>#<yyyy-MM>`; with `fromDate`, only the sort keys under
//!   `<fromDate>#`), which returns the line's departures *and* their counters. Stopped
//!   departures leave this partition, so it never lists them. Bounded by the number of
//!   lines, never by history.
//! * **stopped-schedules** (§3.10): one index query on `STOPPED`.
//!
//! The counter is created once by the import and afterwards only moved by `Write::Count`
//! (orders, capacity changes): nothing ever re-puts it, so no write can lose a concurrent
//! seat change. That is why its index entry is keyed on the departure's first date and the
//! departure records that date (`seatsDate`).

pub mod demo;
pub mod file;
pub mod geo;
pub mod import;
pub mod model;
pub mod queries;
pub mod records;
pub mod refund;
mod validate;

pub use demo::demo_catalogue;
pub use file::{generated_schedule_id, CatalogueFile, DepartureEntry, ImportProblem, LineEntry, PlannedDeparture, TimetableEntry};
pub use geo::{parse_coordinate, polygon_contains};
pub use import::{
    apply_import, list_changes, list_changes_on, parse_import, resume_departure, stop_departure, Change, ChangeRecord, ImportError, ImportOptions,
    ImportReport, StopError, StopOutcome,
};
pub use model::{
    demo_refund_tiers, City, Departure, DepartureTime, GeoPoint, Line, RefundTier, SaleState, Segment, SegmentError, SegmentPrice, Station,
    StationType, Stop, TimeType, TransferPoint,
};
pub use queries::{
    city_matches, from_cities, list_departures, list_stopped, seat_query, to_cities, LinesQuery, ListedDeparture, SeatsAnswer, SeatsError,
    SeatsRequest, StoppedQuery, ToCity,
};
pub use records::{departure_key, load_departure, load_departure_cached, load_departure_record, seats_key, DepartureCache, LoadedDeparture};
pub use refund::{refund_quote, NotRefundable, RefundQuote};
