//! The catalogue as Fliggy reads it (fliggy-bus.md §3.1–§3.4, §3.10): city lists, a
//! departure's `lineSchedule[]` element, the seat answer and the stopped departures. Views
//! derive `Serialize`; stations, segment prices, transfer points and refund tiers are the
//! catalogue model's own serde form, which follows §3.3's tables (its tests pin the names).

use std::borrow::Cow;

use busgate_domain::catalogue::{City, Departure, SeatsAnswer, SegmentError, ToCity};
use busgate_domain::gmt8;
use serde::Serialize;

use crate::fliggy::Data;

const TIME: &str = "%H:%M";

/// §3.1: `fromCityList`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FromCities<'a> {
    from_city_list: Vec<FromCity<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FromCity<'a> {
    province_name: &'a str,
    from_city: &'a str,
    city_code: &'a str,
}

pub fn from_cities(cities: &[City]) -> FromCities<'_> {
    FromCities { from_city_list: cities.iter().map(|c| FromCity { province_name: &c.province, from_city: &c.name, city_code: &c.code }).collect() }
}

/// §3.2: `toCityList`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToCities<'a> {
    to_city_list: Vec<ToCityView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToCityView<'a> {
    province_name: &'a str,
    to_city: &'a str,
    pre_sell_day: u32,
}

pub fn to_cities(cities: &[ToCity]) -> ToCities<'_> {
    ToCities {
        to_city_list: cities
            .iter()
            .map(|c| ToCityView { province_name: &c.city.province, to_city: &c.city.name, pre_sell_day: c.pre_sell_day })
            .collect(),
    }
}

/// The `line` object shared by §3.3 and §3.10.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LineView<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<&'a str>,
    from_time_type: u8,
    from_date: String,
    from_time: String,
    /// A window departure (流水班): its first and last time.
    #[serde(skip_serializing_if = "Option::is_none")]
    from_duration_begin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_duration_end: Option<String>,
}

impl<'a> LineView<'a> {
    fn of(dep: &'a Departure) -> Self {
        let line = &dep.line;
        let start = dep.time.start().format(TIME).to_string();
        LineView {
            id: &line.id,
            name: &line.name,
            desc: line.desc.as_deref(),
            from_time_type: line.from_time_type.code(),
            from_date: dep.from_date.format("%Y-%m-%d").to_string(),
            from_duration_begin: dep.time.end().map(|_| start.clone()),
            from_duration_end: dep.time.end().map(|e| e.format(TIME).to_string()),
            from_time: start,
        }
    }
}

/// A departure's `lineSchedule[]` element of §3.3, but its live `leftTicketCnt`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DepartureView<'a> {
    schedule_id: &'a str,
    line: LineView<'a>,
    pre_sell_day: u32,
    presell_time: u32,
    stations: &'a [busgate_domain::catalogue::Station],
    segment_prices: &'a [busgate_domain::catalogue::SegmentPrice],
    is_order_refund: bool,
    refund_rules: &'a [busgate_domain::catalogue::RefundTier],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    transfer_points: &'a [busgate_domain::catalogue::TransferPoint],
    #[serde(skip_serializing_if = "Option::is_none")]
    back_days: Option<u8>,
}

/// A departure's `lineSchedule[]` element as JSON text without its closing brace, so that the
/// live `"leftTicketCnt":n}` is appended per request ([`lines`]). A pure function of the
/// departure: the edge renders it once per decoded record.
pub fn open_departure(dep: &Departure) -> String {
    let line = &dep.line;
    let view = DepartureView {
        schedule_id: &dep.schedule_id,
        line: LineView::of(dep),
        pre_sell_day: line.pre_sell_day,
        presell_time: line.presell_time,
        stations: &line.stations,
        segment_prices: &line.segment_prices,
        is_order_refund: line.is_order_refund,
        refund_rules: &line.refund_rules,
        transfer_points: &line.transfer_points,
        back_days: line.back_days,
    };
    let mut text = serde_json::to_string(&view).expect("departures render");
    text.pop(); // the closing brace
    text
}

/// §3.3's answer: `lineSchedule`, each element opened by [`open_departure`] and closed with
/// its live seat count.
pub fn lines<'a>(departures: impl ExactSizeIterator<Item = (&'a str, i64)>) -> Data {
    use std::fmt::Write;
    let mut out = String::with_capacity(64 + departures.len() * 1024);
    out.push_str(r#"{"lineSchedule":["#);
    for (i, (open, left_ticket_cnt)) in departures.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(open);
        let _ = write!(out, r#","leftTicketCnt":{}}}"#, left_ticket_cnt.max(0));
    }
    out.push_str("]}");
    Data::rendered(out)
}

/// §3.4: seats and price.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seats<'a> {
    left_ticket_cnt: i64,
    /// A String of fen (§3.4's table).
    ticket_price: String,
    start_time: &'a str,
    sale_status: u8,
}

pub fn seats(a: &SeatsAnswer) -> Seats<'_> {
    Seats { left_ticket_cnt: a.left_ticket_cnt, ticket_price: a.ticket_price.to_string(), start_time: &a.start_time, sale_status: a.sale_status }
}

/// §3.10: stopped departures.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stopped<'a> {
    line_schedule: Vec<StoppedDeparture<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoppedDeparture<'a> {
    schedule_id: &'a str,
    line: LineView<'a>,
    from_city: &'a str,
    to_city: &'a str,
    stop_time: Option<String>,
    stop_reason: Option<&'a str>,
}

pub fn stopped(deps: &[Departure]) -> Stopped<'_> {
    Stopped {
        line_schedule: deps
            .iter()
            .map(|dep| StoppedDeparture {
                schedule_id: &dep.schedule_id,
                line: LineView::of(dep),
                from_city: dep.line.first_boarding().map_or("", |s| s.city_name.as_str()),
                to_city: dep.line.last_alighting().map_or("", |s| s.city_name.as_str()),
                stop_time: dep.stop.as_ref().map(|s| s.at.with_timezone(&gmt8()).format("%Y-%m-%d %H:%M:%S").to_string()),
                stop_reason: dep.stop.as_ref().map(|s| s.reason.as_str()),
            })
            .collect(),
    }
}

/// Why a segment cannot be sold, as a `1401` detail (the seat query's and create's).
pub fn segment_text(e: &SegmentError) -> Cow<'_, str> {
    match e {
        SegmentError::UnknownFromStation(s) => Cow::Owned(format!("上车站{s}不存在")),
        SegmentError::UnknownToStation(s) => Cow::Owned(format!("下车站{s}不存在")),
        SegmentError::NotBoarding(s) => Cow::Owned(format!("{s}不可上车")),
        SegmentError::NotAlighting(s) => Cow::Owned(format!("{s}不可下车")),
        SegmentError::OutOfOrder => Cow::Borrowed("下车站须在上车站之后"),
        SegmentError::NoPrice => Cow::Borrowed("该区间不售票"),
    }
}
