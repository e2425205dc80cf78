//! Catalogue interfaces: cities, lines, seats, stopped departures (fliggy-bus.md §3.1–§3.4,
//! §3.10). Reads only: each is a key lookup or an index query, never a scan.

use busgate_domain::catalogue::{self, Departure};
use busgate_domain::gmt8;
use busgate_wire::fliggy::{Failure, RetCode};
use busgate_wire::json::{FieldError, Fields};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::{store_failure, Answer};
use crate::app::App;

fn data(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// §3.1 departure cities.
pub async fn from_cities(app: &App, f: Fields<'_>) -> Answer {
    let filter = f.opt_str("fromCity")?;
    let cities = catalogue::from_cities(app.store.as_ref(), filter.as_deref()).await.map_err(store_failure)?;
    let list: Vec<Value> = cities
        .into_iter()
        .map(|c| json!({"provinceName": c.province, "fromCity": c.name, "cityCode": c.code}))
        .collect();
    Ok(data([("fromCityList", Value::Array(list))]))
}

/// §3.2 arrival cities of a departure city.
pub async fn to_cities(app: &App, f: Fields<'_>) -> Answer {
    let from = f.req_str("fromCity")?;
    let cities = catalogue::to_cities(app.store.as_ref(), &from).await.map_err(store_failure)?;
    let list: Vec<Value> = cities
        .into_iter()
        .map(|c| json!({"provinceName": c.city.province, "toCity": c.city.name, "preSellDay": c.pre_sell_day}))
        .collect();
    Ok(data([("toCityList", Value::Array(list))]))
}

/// Whether `s` has exactly the shape of `pattern`, where `9` stands for an ASCII digit and
/// every other character for itself (§2.5: `yyyy-MM-dd`, `HH:mm`, `HH:mm:ss`; chrono alone
/// also takes `2026-1-5`, `8:30`, a sign or a leap second).
fn has_shape(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len() && s.bytes().zip(pattern.bytes()).all(|(c, p)| if p == b'9' { c.is_ascii_digit() } else { c == p })
}

fn strict_date(s: &str) -> Option<NaiveDate> {
    has_shape(s, "9999-99-99").then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

/// `HH:mm` or `HH:mm:ss`, seconds 00–59.
fn strict_time(s: &str) -> Option<NaiveTime> {
    if has_shape(s, "99:99") {
        NaiveTime::parse_from_str(s, "%H:%M").ok()
    } else if has_shape(s, "99:99:99") && &s[6..] < "60" {
        NaiveTime::parse_from_str(s, "%H:%M:%S").ok()
    } else {
        None
    }
}

fn parse_date(f: &Fields<'_>, name: &str) -> Result<Option<NaiveDate>, Failure> {
    match f.opt_str(name)? {
        None => Ok(None),
        Some(s) => strict_date(&s).map(Some).ok_or_else(|| Failure::invalid(FieldError::new(f.path(name), "must be a date yyyy-MM-dd"))),
    }
}

fn parse_time(f: &Fields<'_>, name: &str) -> Result<Option<NaiveTime>, Failure> {
    match f.opt_str(name)? {
        None => Ok(None),
        Some(s) => strict_time(&s).map(Some).ok_or_else(|| Failure::invalid(FieldError::new(f.path(name), "must be a time HH:mm or HH:mm:ss"))),
    }
}

fn parse_date_time(f: &Fields<'_>, name: &str) -> Result<Option<DateTime<Utc>>, Failure> {
    match f.opt_str(name)? {
        None => Ok(None),
        Some(s) => s
            .split_once(' ')
            .and_then(|(d, t)| Some(strict_date(d)?.and_time(has_shape(t, "99:99:99").then(|| strict_time(t)).flatten()?)))
            .and_then(|n| gmt8().from_local_datetime(&n).single())
            .map(|t| Some(t.with_timezone(&Utc)))
            .ok_or_else(|| Failure::invalid(FieldError::new(f.path(name), "must be yyyy-MM-dd HH:mm:ss (GMT+8)"))),
    }
}

/// The `line` object shared by §3.3 and §3.10.
fn line_object(dep: &Departure) -> Value {
    let line = &dep.line;
    let mut o = json!({
        "id": line.id,
        "name": line.name,
        "fromTimeType": line.from_time_type.code(),
        "fromDate": dep.from_date.format("%Y-%m-%d").to_string(),
        "fromTime": dep.time.start().format("%H:%M").to_string(),
    });
    if let Some(desc) = &line.desc {
        o["desc"] = json!(desc);
    }
    if let Some(end) = dep.time.end() {
        o["fromDurationBegin"] = json!(dep.time.start().format("%H:%M").to_string());
        o["fromDurationEnd"] = json!(end.format("%H:%M").to_string());
    }
    o
}

fn json_of<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("catalogue values serialise")
}

/// §3.3 lines and departures.
pub async fn lines(app: &App, f: Fields<'_>) -> Answer {
    let q = catalogue::LinesQuery {
        from_city: f.req_str("fromCity")?,
        to_city: f.opt_str("toCity")?,
        from_date: parse_date(&f, "fromDate")?,
        line_id: f.opt_id("lineId")?,
    };
    let listed = catalogue::list_departures(app.store.as_ref(), &q, app.clock.now()).await.map_err(store_failure)?;
    let list: Vec<Value> = listed
        .into_iter()
        .map(|l| {
            let dep = &l.departure;
            let line = &dep.line;
            let mut o = json!({
                "scheduleId": dep.schedule_id,
                "line": line_object(dep),
                "preSellDay": line.pre_sell_day,
                "presellTime": line.presell_time,
                "leftTicketCnt": l.left_ticket_cnt.max(0),
                "stations": json_of(&line.stations),
                "segmentPrices": json_of(&line.segment_prices),
                "isOrderRefund": line.is_order_refund,
                "refundRules": json_of(&line.refund_rules),
            });
            if !line.transfer_points.is_empty() {
                o["transferPoints"] = json_of(&line.transfer_points);
            }
            if let Some(b) = line.back_days {
                o["backDays"] = json!(b);
            }
            o
        })
        .collect();
    Ok(data([("lineSchedule", Value::Array(list))]))
}

/// §3.4 seats and price (live).
pub async fn seats(app: &App, f: Fields<'_>) -> Answer {
    let req = catalogue::SeatsRequest {
        schedule_id: f.req_id("scheduleId")?,
        line_id: f.opt_id("lineId")?,
        from_station_code: f.opt_str("fromStationCode")?,
        to_station_code: f.opt_str("toStationCode")?,
        from_date: Some(parse_date(&f, "fromDate")?.ok_or_else(|| Failure::invalid(FieldError::new("fromDate", "required")))?),
        from_time: Some(parse_time(&f, "fromTime")?.ok_or_else(|| Failure::invalid(FieldError::new("fromTime", "required")))?),
    };
    match catalogue::seat_query(app.store.as_ref(), &req, app.clock.now()).await {
        Ok(a) => Ok(data([
            ("leftTicketCnt", json!(a.left_ticket_cnt)),
            ("ticketPrice", json!(a.ticket_price.to_string())),
            ("startTime", json!(a.start_time)),
            ("saleStatus", json!(a.sale_status)),
        ])),
        Err(catalogue::SeatsError::UnknownSchedule) => Err(Failure::plain(RetCode::UnknownSchedule)),
        Err(catalogue::SeatsError::Segment(e)) => Err(Failure::mismatch(&e.to_string())),
        Err(catalogue::SeatsError::Store(e)) => Err(store_failure(e)),
    }
}

/// §3.10 stopped departures.
pub async fn stopped_schedules(app: &App, f: Fields<'_>) -> Answer {
    let q = catalogue::StoppedQuery {
        from_city: f.opt_str("fromCity")?,
        to_city: f.opt_str("toCity")?,
        from_station: f.opt_str("fromStationCode")?,
        to_station: f.opt_str("toStationCode")?,
        begin: parse_date_time(&f, "fromDateTimeBegin")?,
        end: parse_date_time(&f, "fromDateTimeEnd")?,
    };
    if let (Some(b), Some(e)) = (q.begin, q.end) {
        if b >= e {
            return Err(Failure::invalid(FieldError::new("fromDateTimeEnd", "must be after fromDateTimeBegin")));
        }
    }
    let deps = catalogue::list_stopped(app.store.as_ref(), &q, app.clock.now()).await.map_err(store_failure)?;
    let list: Vec<Value> = deps
        .into_iter()
        .map(|dep| {
            let from = dep.line.first_boarding().map(|s| s.city_name.clone()).unwrap_or_default();
            let to = dep.line.last_alighting().map(|s| s.city_name.clone()).unwrap_or_default();
            let stop = dep.stop.as_ref();
            json!({
                "scheduleId": dep.schedule_id,
                "line": line_object(&dep),
                "fromCity": from,
                "toCity": to,
                "stopTime": stop.map(|s| s.at.with_timezone(&gmt8()).format("%Y-%m-%d %H:%M:%S").to_string()),
                "stopReason": stop.map(|s| s.reason.clone()),
            })
        })
        .collect();
    Ok(data([("lineSchedule", Value::Array(list))]))
}
