//! The catalogue file an operator writes and `busgate catalogue import FILE` reads.
//!
//! ```json
//! {
//!   "cities": [{"code": "310100", "name": "上海市", "province": "上海市"}],
//!   "refundRuleSets": {"standard": [{"minHours": 0, "maxHours": 3, "refundable": false},
//!                                   {"minHours": 3, "refundable": true, "feePercent": 10}]},
//!   "lines": [{
//!     "id": "AIRPORT1", "name": "人民广场-浦东机场", "fromTimeType": 1,
//!     "preSellDay": 7, "presellTime": 30, "seats": 45, "refundRules": "standard",
//!     "stations": [
//!       {"stationCode": "RMGC", "stationName": "人民广场", "cityCode": "310100", "stationType": 1,
//!        "longitude": "121.475190", "latitude": "31.228833", "boarding": true, "alighting": false,
//!        "offsetMinutes": 0},
//!       {"stationCode": "PVG2", "stationName": "浦东机场T2", "cityCode": "310100", "stationType": 1,
//!        "longitude": "121.805000", "latitude": "31.151000", "boarding": false, "alighting": true,
//!        "offsetMinutes": 60}],
//!     "segmentPrices": [{"fromStationCode": "RMGC", "toStationCode": "PVG2", "price": 3000, "childPrice": 1500}],
//!     "timetable": [{"from": "2024-11-01", "to": "2024-11-30", "weekdays": [1, 2, 3, 4, 5], "times": ["07:00", "09:30"]}],
//!     "departures": [{"scheduleId": "AIRPORT1-20241104-0700", "stopped": "车辆检修"},
//!                    {"scheduleId": "AIRPORT1-20241105-0930", "time": "10:00"},
//!                    {"scheduleId": "AP-EXTRA-1", "date": "2024-11-09", "time": "06:00", "seats": 20}]
//!   }]
//! }
//! ```
//!
//! * A line object mirrors the Fliggy line object (§3.3): the same field names for the line,
//!   its stations, segment prices, transfer points and refund rules. `cityName` and `seq` of a
//!   station may be given (they must then agree); `enabled` (default true), `isOrderRefund`
//!   (default false), `certificateTypes` (default `["1"]`), `fetchTicketSpot`,
//!   `ticketWicket` and `driverContactPhone` are optional. `refundRules` is a tier list or the
//!   name of a set in `refundRuleSets`. `seats` is the default capacity of its departures.
//! * **Departures.** `timetable` declares many at once: every date from `from` to `to`
//!   (inclusive) on the ISO `weekdays` (1 = Monday; all days when absent), at each of `times`
//!   (`"HH:mm"` on a type 1 line, `"HH:mm-HH:mm"` windows on a type 4 line). Each gets the
//!   `scheduleId` **`<lineId>-<yyyyMMdd>-<HHmm>`** of its slot (the window's begin for type 4):
//!   a pure function of the slot, so re-importing the file yields the same ids.
//! * `departures` lists single departures. An entry whose `scheduleId` (or, without one, whose
//!   `date`+`time`) is a timetable slot adjusts that slot: `date`/`time` move it **keeping its
//!   id** (a moved departure is still the same schedule, §2.6), `seats` sets its capacity,
//!   `"stopped": "<reason>"` stops it, `"resume": true` resumes it. Any other entry is an
//!   extra departure and needs `date` and `time`; give it a `scheduleId`, or it gets the
//!   generated one of its date and time.
//! * A departure's stop state only changes when an entry says so: a departure stopped in the
//!   back office stays stopped when a file that does not mention it is imported again.
//! * Departures in the store that the file does not list are left as they are (ids are never
//!   deleted or reused).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::model::{City, DepartureTime, Line};

/// A problem found in a catalogue file (or, at apply time, against the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// JSON path of the value, e.g. `lines[0].stations[2].geofence`.
    pub path: String,
    pub message: String,
}

impl ImportProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ImportProblem { line: None, path: path.into(), message: message.into() }
    }
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A validated catalogue file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueFile {
    pub cities: Vec<City>,
    pub lines: Vec<LineEntry>,
}

/// A line of the file and its departures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineEntry {
    #[serde(flatten)]
    pub line: Line,
    /// Default capacity of the line's departures.
    pub seats: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timetable: Vec<TimetableEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub departures: Vec<DepartureEntry>,
}

/// Many departures at once: each date of [from, to] on `weekdays`, at each of `times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimetableEntry {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// ISO weekdays (1 = Monday … 7 = Sunday); empty = every day.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<u8>,
    pub times: Vec<DepartureTime>,
    /// Capacity; the line's `seats` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
}

/// One departure: an extra one, or an adjustment of a timetable slot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartureEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<DepartureTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// Stop it, with this reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Resume it if stopped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

/// A departure the file declares, after expanding timetables and applying entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDeparture {
    /// Index of its line in [`CatalogueFile::lines`].
    pub line_index: usize,
    pub schedule_id: String,
    pub date: NaiveDate,
    pub time: DepartureTime,
    pub seats: u32,
    /// `Some(reason)`: stop it (if not stopped yet).
    pub stop: Option<String>,
    /// Resume it if stopped.
    pub resume: bool,
    /// Where it comes from in the file, e.g. `lines[0].timetable[1]` or `lines[0].departures[3]`.
    pub path: String,
}

/// The `scheduleId` of a timetable slot: `<lineId>-<yyyyMMdd>-<HHmm>` (window begin for type 4).
/// Deterministic, so re-importing a file yields the same ids.
pub fn generated_schedule_id(line_id: &str, date: NaiveDate, time: DepartureTime) -> String {
    format!("{line_id}-{}-{}", date.format("%Y%m%d"), time.start().format("%H%M"))
}

/// Longest line id that still leaves room for a generated `scheduleId` (64 chars).
pub const MAX_GENERATING_LINE_ID: usize = 64 - 14;

/// Most departures one file may declare.
pub const MAX_DEPARTURES: usize = 50_000;

impl CatalogueFile {
    /// Every departure the file declares, in file order (timetable slots first, then extra
    /// entries, line by line), or the problems that make the list ambiguous.
    pub fn planned_departures(&self) -> Result<Vec<PlannedDeparture>, Vec<ImportProblem>> {
        let mut problems = Vec::new();
        let mut out: Vec<PlannedDeparture> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (li, entry) in self.lines.iter().enumerate() {
            let line_id = &entry.line.id;
            let mut slots: BTreeMap<String, usize> = BTreeMap::new();
            let start = out.len();
            for (ti, tt) in entry.timetable.iter().enumerate() {
                let path = format!("lines[{li}].timetable[{ti}]");
                let mut date = tt.from;
                while date <= tt.to {
                    let weekday = date.weekday().number_from_monday() as u8;
                    if tt.weekdays.is_empty() || tt.weekdays.contains(&weekday) {
                        for &time in &tt.times {
                            let sid = generated_schedule_id(line_id, date, time);
                            if let Some(prev) = seen.get(&sid) {
                                problems.push(ImportProblem::new(&path, format!("departure {sid} is declared twice (also by {prev})")));
                                continue;
                            }
                            if out.len() >= MAX_DEPARTURES {
                                problems.push(ImportProblem::new(&path, format!("a file declares at most {MAX_DEPARTURES} departures")));
                                return Err(problems);
                            }
                            seen.insert(sid.clone(), path.clone());
                            slots.insert(sid.clone(), out.len());
                            out.push(PlannedDeparture {
                                line_index: li,
                                schedule_id: sid,
                                date,
                                time,
                                seats: tt.seats.unwrap_or(entry.seats),
                                stop: None,
                                resume: false,
                                path: path.clone(),
                            });
                        }
                    }
                    date += Duration::days(1);
                }
            }
            let mut adjusted: HashMap<usize, String> = HashMap::new();
            for (di, d) in entry.departures.iter().enumerate() {
                let path = format!("lines[{li}].departures[{di}]");
                let sid = match (&d.schedule_id, d.date, d.time) {
                    (Some(sid), _, _) => sid.clone(),
                    (None, Some(date), Some(time)) => generated_schedule_id(line_id, date, time),
                    (None, _, _) => {
                        problems.push(ImportProblem::new(&path, "give a scheduleId, or a date and a time"));
                        continue;
                    }
                };
                if let Some(&slot) = slots.get(&sid) {
                    if let Some(prev) = adjusted.insert(slot, path.clone()) {
                        problems.push(ImportProblem::new(&path, format!("departure {sid} is already adjusted by {prev}")));
                        continue;
                    }
                    let p = &mut out[slot];
                    p.date = d.date.unwrap_or(p.date);
                    p.time = d.time.unwrap_or(p.time);
                    p.seats = d.seats.unwrap_or(p.seats);
                    p.stop = d.stopped.clone();
                    p.resume = d.resume;
                    p.path = path;
                    continue;
                }
                if let Some(prev) = seen.get(&sid) {
                    problems.push(ImportProblem::new(&path, format!("scheduleId {sid} is declared twice (also by {prev})")));
                    continue;
                }
                let (Some(date), Some(time)) = (d.date, d.time) else {
                    problems.push(ImportProblem::new(
                        &path,
                        format!("{sid} is not a timetable slot of this line: a new departure needs a date and a time"),
                    ));
                    continue;
                };
                if out.len() >= MAX_DEPARTURES {
                    problems.push(ImportProblem::new(&path, format!("a file declares at most {MAX_DEPARTURES} departures")));
                    return Err(problems);
                }
                seen.insert(sid.clone(), path.clone());
                out.push(PlannedDeparture {
                    line_index: li,
                    schedule_id: sid,
                    date,
                    time,
                    seats: d.seats.unwrap_or(entry.seats),
                    stop: d.stopped.clone(),
                    resume: d.resume,
                    path,
                });
            }
            for p in &out[start..] {
                if p.time.time_type() != entry.line.from_time_type {
                    problems.push(ImportProblem::new(
                        &p.path,
                        format!("departure {} at {} does not fit fromTimeType {}", p.schedule_id, p.time, entry.line.from_time_type.code()),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// The file as JSON (the format `parse_import` reads; refund rules written in full).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("catalogue file serialises")
    }
}
