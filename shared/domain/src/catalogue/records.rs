//! Where the catalogue lives in the store (the layout is described in the module doc of
//! [`crate::catalogue`]) and how its records are encoded.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Decoded, Item, Key, Store, StoreError};

use super::model::{City, Departure, Line};

/// Partition of the catalogue's small records: cities and lines.
pub const CATALOGUE_PK: &str = "CAT";
/// Sort-key prefix of a city in [`CATALOGUE_PK`].
pub const CITY_SK_PREFIX: &str = "CITY#";
/// Sort-key prefix of a line in [`CATALOGUE_PK`].
pub const LINE_SK_PREFIX: &str = "LINE#";
/// Sort key of a departure record in its partition.
pub const DEPARTURE_SK: &str = "DEP";
/// Sort key of a departure's seat counter in its partition.
pub const SEATS_SK: &str = "SEATS";
/// Index partition of stopped departures (§3.10).
pub const STOPPED_INDEX_PK: &str = "STOPPED";

/// `CAT` / `CITY#<code>`.
pub fn city_key(code: &str) -> Key {
    Key::new(CATALOGUE_PK, format!("{CITY_SK_PREFIX}{code}"))
}

/// `CAT` / `LINE#<lineId>`.
pub fn line_key(line_id: &str) -> Key {
    Key::new(CATALOGUE_PK, format!("{LINE_SK_PREFIX}{line_id}"))
}

/// Partition of one departure: its record and its seat counter.
pub fn departure_pk(schedule_id: &str) -> String {
    format!("DEP#{schedule_id}")
}

/// `DEP#<scheduleId>` / `DEP`: the departure record (a [`Departure`]).
pub fn departure_key(schedule_id: &str) -> Key {
    Key::new(departure_pk(schedule_id), DEPARTURE_SK)
}

/// `DEP#<scheduleId>` / `SEATS`: the seat counter; `count` = seats left. Orders move it with
/// `Write::Count { key, delta: -n, floor: Some(0) }` and give seats back with `+n`. The
/// catalogue creates it once (`count` = capacity) and afterwards only moves it with
/// `Write::Count` too (capacity changes), so no write ever overwrites a count.
pub fn seats_key(schedule_id: &str) -> Key {
    Key::new(departure_pk(schedule_id), SEATS_SK)
}

/// `yyyy-MM` of a date.
pub fn month_of(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

/// Index partition of a line's departures and seat counters in one month:
/// `LDEP#<lineId>#<yyyy-MM>`.
pub fn line_month_index_pk(line_id: &str, month: &str) -> String {
    format!("LDEP#{line_id}#{month}")
}

/// Index sort key of an unstopped departure in its line-month partition:
/// `<yyyy-MM-dd>#D#<HH:mm>#<scheduleId>` (sorted by D, then scheduleId). With the counter's
/// key below, the prefix `<yyyy-MM-dd>#` reads a date's departures *and* their counters.
pub fn departure_index_sk(dep: &Departure) -> String {
    format!("{}#D#{}#{}", dep.from_date.format("%Y-%m-%d"), dep.time.start().format("%H:%M"), dep.schedule_id)
}

/// Index sort key of a seat counter in its line-month partition:
/// `<yyyy-MM-dd of seats_date>#S#<scheduleId>`.
pub fn seats_index_sk(seats_date: NaiveDate, schedule_id: &str) -> String {
    format!("{}#S#{schedule_id}", seats_date.format("%Y-%m-%d"))
}

/// `yyyy-MM-ddTHH:mm` of D (GMT+8): sorts like D.
fn local_sort_key(dep: &Departure) -> String {
    dep.departure_local().format("%Y-%m-%dT%H:%M").to_string()
}

/// The departure record at `version`. Its index entry: in its line-month partition while not
/// stopped; in [`STOPPED_INDEX_PK`] (sort key `<yyyy-MM-dd>T<HH:mm>#<scheduleId>`) while stopped.
pub fn departure_item(dep: &Departure, version: u64) -> Item {
    let item = Item::new(departure_key(&dep.schedule_id), serde_json::to_string(dep).expect("departure serialises")).with_version(version);
    if dep.stop.is_some() {
        item.with_index(STOPPED_INDEX_PK, format!("{}#{}", local_sort_key(dep), dep.schedule_id))
    } else {
        item.with_index(line_month_index_pk(&dep.line.id, &month_of(dep.from_date)), departure_index_sk(dep))
    }
}

/// Body of a seat counter (informational; the count is the record's `count`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatsBody {
    pub schedule_id: String,
    pub line_id: String,
}

/// A new seat counter holding `seats` seats, indexed in the line-month partition of the
/// departure's `seats_date` (which never changes afterwards).
pub fn new_seats_item(dep: &Departure) -> Item {
    let body = SeatsBody { schedule_id: dep.schedule_id.clone(), line_id: dep.line.id.clone() };
    Item::new(seats_key(&dep.schedule_id), serde_json::to_string(&body).expect("seats body serialises"))
        .with_count(i64::from(dep.seats))
        .with_index(line_month_index_pk(&dep.line.id, &month_of(dep.seats_date)), seats_index_sk(dep.seats_date, &dep.schedule_id))
}

/// A line in the catalogue partition: the current line (for the city lists) and the months
/// whose line-month index partitions hold its departures or counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineRecord {
    pub line: Line,
    pub months: BTreeSet<String>,
}

pub fn line_item(record: &LineRecord, version: u64) -> Item {
    Item::new(line_key(&record.line.id), serde_json::to_string(record).expect("line serialises")).with_version(version)
}

pub fn city_item(city: &City, version: u64) -> Item {
    Item::new(city_key(&city.code), serde_json::to_string(city).expect("city serialises")).with_version(version)
}

/// The catalogue partition, decoded (shared with this process's other readers: see
/// [`DECODED`]).
#[derive(Debug, Clone, Default)]
pub struct CatalogueSnapshot {
    /// Cities with their record versions, by code order.
    pub cities: Vec<(Arc<City>, u64)>,
    /// Lines with their record versions, by id order.
    pub lines: Vec<(Arc<LineRecord>, u64)>,
}

impl CatalogueSnapshot {
    pub fn city(&self, code: &str) -> Option<&City> {
        self.cities.iter().map(|(c, _)| &**c).find(|c| c.code == code)
    }
    pub fn line(&self, id: &str) -> Option<&LineRecord> {
        self.lines.iter().map(|(l, _)| &**l).find(|l| l.line.id == id)
    }
}

/// The catalogue records this process decoded, by record and exact body: a catalogue read
/// decodes only what changed since (a pure memo of `Item::decode`, so one per process is safe
/// whatever store it reads).
pub struct DecodedCatalogue {
    pub cities: Decoded<City>,
    pub lines: Decoded<LineRecord>,
    pub departures: Decoded<Departure>,
}

/// Bounded for a 256 MB function: a departure entry (its body and the decoded value, each
/// carrying the whole line) is a few KB, so 5 000 of them stay near 20 MB; a `lines` answer
/// reads a few hundred.
pub static DECODED: std::sync::LazyLock<DecodedCatalogue> =
    std::sync::LazyLock::new(|| DecodedCatalogue { cities: Decoded::new(4_096), lines: Decoded::new(4_096), departures: Decoded::new(5_000) });

/// Reads every city and line: one query on [`CATALOGUE_PK`].
pub async fn load_catalogue(store: &dyn Store) -> Result<CatalogueSnapshot, StoreError> {
    let mut snap = CatalogueSnapshot::default();
    for item in store.query(CATALOGUE_PK, "").await? {
        if item.key.sk.starts_with(CITY_SK_PREFIX) {
            snap.cities.push((DECODED.cities.decode(&item)?, item.version));
        } else if item.key.sk.starts_with(LINE_SK_PREFIX) {
            snap.lines.push((DECODED.lines.decode(&item)?, item.version));
        }
    }
    Ok(snap)
}

/// A departure as read, with what a conditional write needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedDeparture {
    pub departure: Arc<Departure>,
    /// Version of the departure record (for `Condition::Version` / `Write::Check`).
    pub version: u64,
    /// Seats left (the counter's count; 0 if the counter is missing).
    pub seats_left: i64,
    /// Whether the counter record exists.
    pub has_counter: bool,
}

/// Reads a departure and its seat counter with exactly one store call:
/// `query("DEP#<scheduleId>", "")`.
pub async fn load_departure_record(store: &dyn Store, schedule_id: &str) -> Result<Option<LoadedDeparture>, StoreError> {
    let items = store.query(&departure_pk(schedule_id), "").await?;
    let mut dep = None;
    let mut counter = None;
    for item in &items {
        match item.key.sk.as_str() {
            DEPARTURE_SK => dep = Some((DECODED.departures.decode(item)?, item.version)),
            SEATS_SK => counter = Some(item.count.unwrap_or(0)),
            _ => {}
        }
    }
    Ok(dep.map(|(departure, version)| LoadedDeparture { departure, version, seats_left: counter.unwrap_or(0), has_counter: counter.is_some() }))
}

/// Departures (with their seats left) as this container last read them, so that a sale costs
/// one store round trip when warm. Safe because a cached departure is only ever *accepted*
/// on: the commit checks the departure record's version (every change to a departure writes
/// it at a new version) and the seat counter's floor, so a stale entry fails the commit and is
/// read again; and a refusal decided on a cached entry is decided again on a fresh read.
#[derive(Debug)]
pub struct DepartureCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (LoadedDeparture, std::time::Instant)>>,
    ttl: std::time::Duration,
    max_entries: usize,
}

impl Default for DepartureCache {
    fn default() -> Self {
        DepartureCache::new(std::time::Duration::from_secs(60), 10_000)
    }
}

impl DepartureCache {
    pub fn new(ttl: std::time::Duration, max_entries: usize) -> Self {
        DepartureCache { entries: Default::default(), ttl, max_entries }
    }

    fn get(&self, schedule_id: &str) -> Option<LoadedDeparture> {
        let entries = self.entries.lock().expect("departure cache lock");
        entries.get(schedule_id).filter(|(_, at)| at.elapsed() < self.ttl).map(|(l, _)| l.clone())
    }

    fn put(&self, loaded: &LoadedDeparture) {
        let mut entries = self.entries.lock().expect("departure cache lock");
        if entries.len() >= self.max_entries {
            entries.clear();
        }
        entries.insert(loaded.departure.schedule_id.clone(), (loaded.clone(), std::time::Instant::now()));
    }
}

/// A departure for a decision: from `cache` when `may_use_cache` and it has one (`true` =
/// cached), else read (one query) and remembered. A caller deciding again after a lost race
/// reads afresh.
pub async fn load_departure_cached(
    store: &dyn Store,
    cache: Option<&DepartureCache>,
    schedule_id: &str,
    may_use_cache: bool,
) -> Result<(Option<LoadedDeparture>, bool), StoreError> {
    if may_use_cache {
        if let Some(l) = cache.and_then(|c| c.get(schedule_id)) {
            return Ok((Some(l), true));
        }
    }
    let loaded = load_departure_record(store, schedule_id).await?;
    if let (Some(cache), Some(l)) = (cache, &loaded) {
        cache.put(l);
    }
    Ok((loaded, false))
}

/// Reads a departure and its seats left with exactly one store call (see
/// [`load_departure_record`] for the version too). `None` = unknown `scheduleId`.
pub async fn load_departure(store: &dyn Store, schedule_id: &str) -> Result<Option<(Arc<Departure>, i64)>, StoreError> {
    Ok(load_departure_record(store, schedule_id).await?.map(|l| (l.departure, l.seats_left)))
}

/// `CHG#<scheduleId>`: partition of a departure's change history.
pub fn change_pk(schedule_id: &str) -> String {
    format!("CHG#{schedule_id}")
}

/// Index partition listing every change of one day (GMT+8 date of the change):
/// `CHG#<yyyy-MM-dd>`.
pub fn change_day_index_pk(day: NaiveDate) -> String {
    format!("CHG#{}", day.format("%Y-%m-%d"))
}

/// `NTF#<fromCityCode>#<toCityCode>#<yyyy-MM-dd>` / `NTF`: the last item.notify queued for a
/// (from city, to city, date), for coalescing (§4.5).
pub fn notify_key(from_city_code: &str, to_city_code: &str, date: NaiveDate) -> Key {
    Key::new(format!("NTF#{from_city_code}#{to_city_code}#{}", date.format("%Y-%m-%d")), "NTF")
}

/// Body of a notify coalescing record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyMark {
    pub callback_id: String,
    pub queued_at: DateTime<Utc>,
}
