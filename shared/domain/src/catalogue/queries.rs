//! The read side behind the catalogue interfaces (fliggy-bus.md §3.1–§3.4, §3.10). Each
//! returns domain values; the edge renders them. Every read is a key lookup or a query on one
//! partition or index partition; the number of round trips of each is documented on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

use crate::clock::gmt8;
use crate::store::{Store, StoreError};

use super::model::{City, Departure, SegmentError, Station};
use super::records::{self, load_catalogue, load_departure_record, month_of, CatalogueSnapshot, DEPARTURE_SK, SEATS_SK};

/// City match (§2.5): `query` matches a city if it is the city's name, or the name without a
/// trailing `市` (`上海` and `上海市` both match `上海市`). Surrounding blanks are ignored.
pub fn city_matches(query: &str, city_name: &str) -> bool {
    let q = query.trim();
    !q.is_empty() && (q == city_name || city_name.strip_suffix('市') == Some(q))
}

/// Codes of the catalogue's cities that `query` matches.
fn matching_codes<'a>(snap: &'a CatalogueSnapshot, query: &str) -> Vec<&'a str> {
    snap.cities.iter().filter(|(c, _)| city_matches(query, &c.name)).map(|(c, _)| c.code.as_str()).collect()
}

fn city_of(snap: &CatalogueSnapshot, station: &Station) -> City {
    snap.city(&station.city_code).cloned().unwrap_or_else(|| City {
        code: station.city_code.clone(),
        name: station.city_name.clone(),
        province: station.city_name.clone(),
    })
}

/// §3.1: the cities with a boarding station (of a sold segment) on an enabled line, filtered
/// by the city match when `from_city` is given, sorted by code. One store call.
pub async fn from_cities(store: &dyn Store, from_city: Option<&str>) -> Result<Vec<City>, StoreError> {
    let snap = load_catalogue(store).await?;
    let mut out: BTreeMap<String, City> = BTreeMap::new();
    for (rec, _) in &snap.lines {
        if !rec.line.enabled {
            continue;
        }
        for (from, _) in rec.line.city_pairs() {
            let city = city_of(&snap, from);
            if from_city.is_none_or(|q| city_matches(q, &city.name)) {
                out.insert(city.code.clone(), city);
            }
        }
    }
    Ok(out.into_values().collect())
}

/// An arrival city (§3.2) with the longest presale period of the lines serving the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToCity {
    pub city: City,
    /// Presale days: the maximum over the enabled lines serving (from city, this city).
    pub pre_sell_day: u32,
}

/// §3.2: the cities with an alighting station after a boarding station in `from_city` (city
/// match) on an enabled line, sorted by name; empty for an unknown city. One store call.
pub async fn to_cities(store: &dyn Store, from_city: &str) -> Result<Vec<ToCity>, StoreError> {
    let snap = load_catalogue(store).await?;
    let from_codes = matching_codes(&snap, from_city);
    let mut out: BTreeMap<String, ToCity> = BTreeMap::new();
    for (rec, _) in &snap.lines {
        if !rec.line.enabled {
            continue;
        }
        for (from, to) in rec.line.city_pairs() {
            if !from_codes.contains(&from.city_code.as_str()) {
                continue;
            }
            let city = city_of(&snap, to);
            let entry = out.entry(city.name.clone()).or_insert(ToCity { city, pre_sell_day: 0 });
            entry.pre_sell_day = entry.pre_sell_day.max(rec.line.pre_sell_day);
        }
    }
    Ok(out.into_values().collect())
}

/// Filters of the lines query (§3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinesQuery {
    /// Required: city match on boarding stations.
    pub from_city: String,
    /// City match on an alighting station after the boarding one.
    pub to_city: Option<String>,
    /// Only this date (GMT+8); `None` = every on-sale date.
    pub from_date: Option<NaiveDate>,
    /// Only this line.
    pub line_id: Option<String>,
}

/// One element of `lineSchedule[]` (§3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDeparture {
    /// Shared with this process's other readers of the unchanged record.
    pub departure: Arc<Departure>,
    /// Seats left from the counter (informational; the seat query is authoritative).
    pub left_ticket_cnt: i64,
}

/// §3.3: the on-sale departures matching the filters, sorted by D then `scheduleId`, each with
/// the seats left of its counter.
///
/// Round trips: 1 (the catalogue partition) + one index query per (matching line, month in
/// the sale window that holds departures of the line): with `fromDate`, at most one per line,
/// reading that date only; without, one or two per line for presale periods under a month.
/// Departures whose date moved since their creation cost one more index query per (line,
/// first date) among them.
pub async fn list_departures(store: &dyn Store, q: &LinesQuery, now: DateTime<Utc>) -> Result<Vec<ListedDeparture>, StoreError> {
    let snap = load_catalogue(store).await?;
    let from_codes = matching_codes(&snap, &q.from_city);
    if from_codes.is_empty() {
        return Ok(Vec::new());
    }
    let to_codes = q.to_city.as_deref().map(|t| matching_codes(&snap, t));
    if to_codes.as_ref().is_some_and(|t| t.is_empty()) {
        return Ok(Vec::new());
    }
    let today = now.with_timezone(&gmt8()).date_naive();

    let mut deps: Vec<Arc<Departure>> = Vec::new();
    let mut counters: HashMap<String, i64> = HashMap::new();
    for (rec, _) in &snap.lines {
        let line = &rec.line;
        if !line.enabled || q.line_id.as_deref().is_some_and(|id| id != line.id) {
            continue;
        }
        if !line.serves(&from_codes, to_codes.as_deref()) {
            continue;
        }
        let months: Vec<String> = match q.from_date {
            Some(d) => vec![month_of(d)],
            None => months_between(today, today + Duration::days(i64::from(line.pre_sell_day))),
        };
        // With a date, the prefix `<date>#` reads that date's departures and counters only.
        let prefix = q.from_date.map(|d| format!("{}#", d.format("%Y-%m-%d"))).unwrap_or_default();
        for month in months.into_iter().filter(|m| rec.months.contains(m)) {
            let pk = records::line_month_index_pk(&line.id, &month);
            read_partition(store, &pk, &prefix, &mut deps, &mut counters).await?;
        }
    }

    deps.retain(|d| {
        q.from_date.is_none_or(|fd| d.from_date == fd)
            && d.on_sale(now)
            && q.line_id.as_deref().is_none_or(|id| id == d.line.id)
            && d.line.serves(&from_codes, to_codes.as_deref())
    });
    // Counters of departures whose date moved since their creation: one index query per
    // (line, first date) among them.
    let missing: BTreeSet<(String, String)> = deps
        .iter()
        .filter(|d| !counters.contains_key(&d.schedule_id))
        .map(|d| (records::line_month_index_pk(&d.line.id, &month_of(d.seats_date)), format!("{}#S#", d.seats_date.format("%Y-%m-%d"))))
        .collect();
    for (pk, prefix) in missing {
        let mut ignored = Vec::new();
        read_partition(store, &pk, &prefix, &mut ignored, &mut counters).await?;
    }
    let mut out: Vec<ListedDeparture> = deps
        .into_iter()
        .map(|d| {
            let left = counters.get(&d.schedule_id).copied().unwrap_or(0).max(0);
            ListedDeparture { departure: d, left_ticket_cnt: left }
        })
        .collect();
    out.sort_by(|a, b| {
        a.departure.departure_instant().cmp(&b.departure.departure_instant()).then_with(|| a.departure.schedule_id.cmp(&b.departure.schedule_id))
    });
    Ok(out)
}

/// Reads a line-month index partition (the sort keys under `prefix`): departure records and
/// seat counters.
async fn read_partition(
    store: &dyn Store,
    index_pk: &str,
    prefix: &str,
    deps: &mut Vec<Arc<Departure>>,
    counters: &mut HashMap<String, i64>,
) -> Result<(), StoreError> {
    for item in store.query_index(index_pk, prefix).await? {
        let Some(sid) = item.key.pk.strip_prefix("DEP#") else { continue };
        match item.key.sk.as_str() {
            DEPARTURE_SK => deps.push(records::DECODED.departures.decode(&item)?),
            SEATS_SK => {
                counters.insert(sid.to_string(), item.count.unwrap_or(0));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The months (`yyyy-MM`) from `from`'s to `to`'s, inclusive.
fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = from.with_day0(0).unwrap_or(from);
    while d <= to {
        out.push(month_of(d));
        d = d.checked_add_months(chrono::Months::new(1)).unwrap_or(to + Duration::days(1));
    }
    out
}

/// A seat query (§3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatsRequest {
    pub schedule_id: String,
    /// Must be the departure's line if given.
    pub line_id: Option<String>,
    pub from_station_code: Option<String>,
    pub to_station_code: Option<String>,
    /// The request's `fromDate`/`fromTime` (GMT+8), to tell whether D moved.
    pub from_date: Option<NaiveDate>,
    pub from_time: Option<NaiveTime>,
}

/// The seat answer (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatsAnswer {
    /// Seats left; 0 when not on sale.
    pub left_ticket_cnt: i64,
    /// Current adult fare of the segment, fen (rendered as a String).
    pub ticket_price: i64,
    /// Current D, `yyyy-MM-dd HH:mm:ss`.
    pub start_time: String,
    /// 1 on sale, 0 stopped or outside the sale window (sold out = 1 with 0 seats).
    pub sale_status: u8,
    /// The request's date/time no longer designates the departure (D moved); informational,
    /// not an error: the answer carries the current `startTime`.
    pub time_changed: bool,
}

/// Why a seat query fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatsError {
    /// Unknown `scheduleId`, or `lineId` is not its line.
    #[error("no such departure on this line")]
    UnknownSchedule,
    /// The stations or time do not designate a segment of the departure.
    #[error("segment mismatch: {0}")]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// §3.4: live seats and price of a departure's segment. Exactly one store call.
pub async fn seat_query(store: &dyn Store, req: &SeatsRequest, now: DateTime<Utc>) -> Result<SeatsAnswer, SeatsError> {
    let loaded = load_departure_record(store, req.schedule_id.trim()).await?.ok_or(SeatsError::UnknownSchedule)?;
    let dep = &loaded.departure;
    if req.line_id.as_deref().map(str::trim).is_some_and(|id| !id.is_empty() && id != dep.line.id) {
        return Err(SeatsError::UnknownSchedule);
    }
    let seg = dep.segment(req.from_station_code.as_deref(), req.to_station_code.as_deref())?;
    let on_sale = dep.on_sale(now);
    let time_changed = match (req.from_date, req.from_time) {
        (Some(d), Some(t)) => !dep.matches_request_time(d, t),
        (Some(d), None) => d != dep.from_date,
        _ => false,
    };
    Ok(SeatsAnswer {
        left_ticket_cnt: if on_sale { loaded.seats_left.max(0) } else { 0 },
        ticket_price: seg.price,
        start_time: dep.start_time_text(),
        sale_status: u8::from(on_sale),
        time_changed,
    })
}

/// Filters of the stopped-departures query (§3.10). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoppedQuery {
    /// City match on a boarding station.
    pub from_city: Option<String>,
    /// City match on an alighting station (after the boarding one).
    pub to_city: Option<String>,
    /// Code or name of a boarding station.
    pub from_station: Option<String>,
    /// Code or name of an alighting station.
    pub to_station: Option<String>,
    /// Keep D ≥ begin.
    pub begin: Option<DateTime<Utc>>,
    /// Keep D < end.
    pub end: Option<DateTime<Utc>>,
}

/// §3.10: stopped departures matching the filters, sorted by D (then `scheduleId`), each
/// listed until 24 h after D. One index query (`STOPPED`).
pub async fn list_stopped(store: &dyn Store, q: &StoppedQuery, now: DateTime<Utc>) -> Result<Vec<Departure>, StoreError> {
    let mut out = Vec::new();
    for item in store.query_index(records::STOPPED_INDEX_PK, "").await? {
        if item.key.sk != DEPARTURE_SK {
            continue;
        }
        let dep: Departure = item.decode()?;
        let d = dep.departure_instant();
        if dep.stop.is_none()
            || d + Duration::hours(24) <= now
            || q.begin.is_some_and(|b| d < b)
            || q.end.is_some_and(|e| d >= e)
            || !stopped_matches(&dep, q)
        {
            continue;
        }
        out.push(dep);
    }
    out.sort_by(|a, b| a.departure_instant().cmp(&b.departure_instant()).then_with(|| a.schedule_id.cmp(&b.schedule_id)));
    Ok(out)
}

fn stopped_matches(dep: &Departure, q: &StoppedQuery) -> bool {
    let st = &dep.line.stations;
    let from_ok = |s: &Station| {
        s.boarding && q.from_city.as_deref().is_none_or(|c| city_matches(c, &s.city_name)) && q.from_station.as_deref().is_none_or(|n| s.matches(n))
    };
    let to_ok = |s: &Station| {
        s.alighting && q.to_city.as_deref().is_none_or(|c| city_matches(c, &s.city_name)) && q.to_station.as_deref().is_none_or(|n| s.matches(n))
    };
    (0..st.len()).any(|i| from_ok(&st[i]) && (i + 1..st.len()).any(|j| to_ok(&st[j])))
}
