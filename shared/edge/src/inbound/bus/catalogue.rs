//! Catalogue interfaces: cities, lines, seats, stopped departures (fliggy-bus.md §3.1–§3.4,
//! §3.10). Reads only: each is a key lookup or an index query, never a scan.

use busgate_domain::catalogue::{self, Departure};
use busgate_domain::gmt8;
use busgate_wire::catalogue as wire;
use busgate_wire::fliggy::{self, Data, Failure};
use busgate_wire::json::{FieldError, Fields};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use super::{store_failure, Answer};
use crate::app::App;

/// §3.1 departure cities.
pub async fn from_cities(app: &App, f: Fields<'_>) -> Answer {
    let filter = f.opt_str("fromCity")?;
    let cities = catalogue::from_cities(app.store.as_ref(), filter.as_deref()).await.map_err(store_failure)?;
    Ok(Data::of(&wire::from_cities(&cities)))
}

/// §3.2 arrival cities of a departure city.
pub async fn to_cities(app: &App, f: Fields<'_>) -> Answer {
    let from = f.req_str("fromCity")?;
    let cities = catalogue::to_cities(app.store.as_ref(), &from).await.map_err(store_failure)?;
    Ok(Data::of(&wire::to_cities(&cities)))
}

/// A GMT+8 date-time field as an instant.
fn date_time(f: &Fields<'_>, name: &str) -> Result<Option<DateTime<Utc>>, Failure> {
    Ok(f.opt_date_time(name)?.and_then(|n| gmt8().from_local_datetime(&n).single()).map(|t| t.with_timezone(&Utc)))
}

type Rendered = HashMap<String, (Arc<Departure>, Arc<str>)>;

/// Rendered departures by `scheduleId`, each with the decoded record it was rendered from.
static RENDERED: LazyLock<RwLock<Rendered>> = LazyLock::new(Default::default);
/// As many as the decoded departures they are rendered from (`records::DECODED`).
const RENDERED_MAX: usize = 5_000;

/// The departure's element as JSON text without its closing brace (the live
/// `leftTicketCnt` goes there), rendered once per decoded record: the domain hands out one
/// shared value per unchanged record.
fn rendered(dep: &Arc<Departure>) -> Arc<str> {
    if let Some((from, text)) = RENDERED.read().unwrap_or_else(|e| e.into_inner()).get(&dep.schedule_id) {
        if Arc::ptr_eq(from, dep) {
            return text.clone();
        }
    }
    let text: Arc<str> = wire::open_departure(dep).into();
    let mut cache = RENDERED.write().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= RENDERED_MAX {
        cache.clear();
    }
    cache.insert(dep.schedule_id.clone(), (dep.clone(), text.clone()));
    text
}

/// §3.3 lines and departures.
pub async fn lines(app: &App, f: Fields<'_>) -> Answer {
    let q = catalogue::LinesQuery {
        from_city: f.req_str("fromCity")?,
        to_city: f.opt_str("toCity")?,
        from_date: f.opt_date("fromDate")?,
        line_id: f.opt_id("lineId")?,
    };
    let listed = catalogue::list_departures(app.store.as_ref(), &q, app.clock.now()).await.map_err(store_failure)?;
    let elements: Vec<(Arc<str>, i64)> = listed.iter().map(|l| (rendered(&l.departure), l.left_ticket_cnt)).collect();
    Ok(wire::lines(elements.iter().map(|(open, left)| (&**open, *left))))
}

/// §3.4 seats and price (live).
pub async fn seats(app: &App, f: Fields<'_>) -> Answer {
    let req = catalogue::SeatsRequest {
        schedule_id: f.req_id("scheduleId")?,
        line_id: f.opt_id("lineId")?,
        from_station_code: f.opt_str("fromStationCode")?,
        to_station_code: f.opt_str("toStationCode")?,
        from_date: Some(f.req_date("fromDate")?),
        from_time: Some(f.req_time("fromTime")?),
    };
    match catalogue::seat_query(app.store.as_ref(), &req, app.clock.now()).await {
        Ok(a) => Ok(Data::of(&wire::seats(&a))),
        Err(catalogue::SeatsError::Store(e)) => Err(store_failure(e)),
        Err(e) => Err(fliggy::seats_failure(&e)),
    }
}

/// §3.10 stopped departures.
pub async fn stopped_schedules(app: &App, f: Fields<'_>) -> Answer {
    let q = catalogue::StoppedQuery {
        from_city: f.opt_str("fromCity")?,
        to_city: f.opt_str("toCity")?,
        from_station: f.opt_str("fromStationCode")?,
        to_station: f.opt_str("toStationCode")?,
        begin: date_time(&f, "fromDateTimeBegin")?,
        end: date_time(&f, "fromDateTimeEnd")?,
    };
    if let (Some(b), Some(e)) = (q.begin, q.end) {
        if b >= e {
            return Err(Failure::invalid(FieldError::new("fromDateTimeEnd", "must be after fromDateTimeBegin")));
        }
    }
    let deps = catalogue::list_stopped(app.store.as_ref(), &q, app.clock.now()).await.map_err(store_failure)?;
    Ok(Data::of(&wire::stopped(&deps)))
}
