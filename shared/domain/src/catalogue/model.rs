//! The catalogue's values: cities, stations, lines, refund tiers and departures, plus the pure
//! rules of a departure that the seat query, create order and refunds rely on.
//!
//! Field names follow the Fliggy line object (fliggy-bus.md §3.3) so that a value serialises
//! close to what Fliggy is shown, and an operator's catalogue file reads like the wire.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::clock::gmt8;

use super::geo;
use super::refund::{self, RefundQuote};

/// A city, named by its 6-digit administrative code (`310100` = 上海市).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct City {
    /// 6-digit administrative code.
    pub code: String,
    /// Full name, e.g. `上海市`.
    pub name: String,
    /// Province (or municipality) name, e.g. `上海市`, `江苏省`.
    pub province: String,
}

/// How a station is given: a fixed point, or an area served door to door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StationType {
    /// `1`: a fixed point (`longitude`/`latitude`).
    Point,
    /// `2`: an area (`geofence`), pick-up/drop-off anywhere inside.
    Area,
}

impl StationType {
    /// The wire code (`1` / `2`).
    pub fn code(self) -> u8 {
        match self {
            StationType::Point => 1,
            StationType::Area => 2,
        }
    }
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(StationType::Point),
            2 => Some(StationType::Area),
            _ => None,
        }
    }
}

impl Serialize for StationType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for StationType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        StationType::from_code(n).ok_or_else(|| serde::de::Error::custom(format!("stationType {n}")))
    }
}

/// A point in decimal degrees (GCJ-02), kept exactly as written (`"121.475190"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub longitude: Decimal,
    pub latitude: Decimal,
}

impl GeoPoint {
    pub fn new(longitude: Decimal, latitude: Decimal) -> Self {
        GeoPoint { longitude, latitude }
    }
}

/// A stop of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Station {
    /// Position on the line, 1..n.
    pub seq: u32,
    /// Unique in the line (`[A-Za-z0-9_-]{1,64}`).
    pub station_code: String,
    pub station_name: String,
    pub city_code: String,
    /// Full city name (resolved from the catalogue's city list).
    pub city_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_address: Option<String>,
    pub station_type: StationType,
    /// Type 1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<Decimal>,
    /// Type 1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<Decimal>,
    /// Type 2 only: ≥ 3 points in order, first point not repeated, edges not crossing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geofence: Vec<GeoPoint>,
    /// Search label, e.g. `机场专线`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_feature: Option<String>,
    pub boarding: bool,
    pub alighting: bool,
    /// Minutes after D at this station (0 at the first station).
    pub offset_minutes: u32,
}

impl Station {
    /// Fixed point or area.
    pub fn kind(&self) -> StationType {
        self.station_type
    }

    /// Whether (`lng`, `lat`) lies inside this area station's geofence; the boundary counts as
    /// inside. Exact decimal arithmetic on the values as given (no rounding, no floats).
    /// Always false for a fixed-point station.
    pub fn geofence_contains(&self, lng: Decimal, lat: Decimal) -> bool {
        self.station_type == StationType::Area && geo::polygon_contains(&self.geofence, lng, lat)
    }

    /// Whether `name_or_code` names this station (its code or its name, §3.10).
    pub fn matches(&self, name_or_code: &str) -> bool {
        let q = name_or_code.trim();
        self.station_code == q || self.station_name == q
    }
}

/// The fare of one sellable (boarding, later alighting) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentPrice {
    pub from_station_code: String,
    pub to_station_code: String,
    /// Adult fare, fen.
    pub price: i64,
    /// Child fare, fen. Absent = no child tickets on this segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_price: Option<i64>,
}

/// A transfer point shown with the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferPoint {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

/// One refund tier (§3.3.1): applies iff `min_hours ≤ h < max_hours` (∞ when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundTier {
    pub min_hours: u32,
    /// Absent on the last tier only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hours: Option<u32>,
    pub refundable: bool,
    /// 0–100, present iff refundable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_percent: Option<u32>,
}

impl RefundTier {
    pub fn refusing(min_hours: u32, max_hours: Option<u32>) -> Self {
        RefundTier { min_hours, max_hours, refundable: false, fee_percent: None }
    }
    pub fn fee(min_hours: u32, max_hours: Option<u32>, fee_percent: u32) -> Self {
        RefundTier { min_hours, max_hours, refundable: true, fee_percent: Some(fee_percent) }
    }
}

/// The demo tier set of §3.3.1 (the seed's example).
pub fn demo_refund_tiers() -> Vec<RefundTier> {
    vec![
        RefundTier::refusing(0, Some(3)),
        RefundTier::fee(3, Some(6), 25),
        RefundTier::fee(6, Some(24), 10),
        RefundTier::fee(24, Some(48), 5),
        RefundTier::fee(48, None, 0),
    ]
}

/// `fromTimeType`: fixed departure time, or a rolling window (流水班).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeType {
    /// `1`: departs at `fromTime`.
    Fixed,
    /// `4`: 流水班, departs within [`fromDurationBegin`, `fromDurationEnd`].
    Rolling,
}

impl TimeType {
    pub fn code(self) -> u8 {
        match self {
            TimeType::Fixed => 1,
            TimeType::Rolling => 4,
        }
    }
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(TimeType::Fixed),
            4 => Some(TimeType::Rolling),
            _ => None,
        }
    }
}

impl Serialize for TimeType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for TimeType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        TimeType::from_code(n).ok_or_else(|| serde::de::Error::custom(format!("fromTimeType {n}")))
    }
}

/// When a departure leaves its first station, on its date (GMT+8, whole minutes).
/// Written `"HH:mm"` (type 1) or `"HH:mm-HH:mm"` (type 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepartureTime {
    Fixed(NaiveTime),
    Window { begin: NaiveTime, end: NaiveTime },
}

impl DepartureTime {
    /// The time D refers to: the fixed time, or the window's begin.
    pub fn start(self) -> NaiveTime {
        match self {
            DepartureTime::Fixed(t) => t,
            DepartureTime::Window { begin, .. } => begin,
        }
    }
    pub fn time_type(self) -> TimeType {
        match self {
            DepartureTime::Fixed(_) => TimeType::Fixed,
            DepartureTime::Window { .. } => TimeType::Rolling,
        }
    }
    /// The window's end (type 4 only).
    pub fn end(self) -> Option<NaiveTime> {
        match self {
            DepartureTime::Fixed(_) => None,
            DepartureTime::Window { end, .. } => Some(end),
        }
    }
    /// Parses `HH:mm` or `HH:mm-HH:mm` (whole minutes; a window must have begin < end).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.split_once('-') {
            None => parse_hhmm(text).map(DepartureTime::Fixed),
            Some((b, e)) => {
                let (begin, end) = (parse_hhmm(b.trim())?, parse_hhmm(e.trim())?);
                (begin < end).then_some(DepartureTime::Window { begin, end })
            }
        }
    }
}

impl std::fmt::Display for DepartureTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DepartureTime::Fixed(t) => write!(f, "{}", t.format("%H:%M")),
            DepartureTime::Window { begin, end } => write!(f, "{}-{}", begin.format("%H:%M"), end.format("%H:%M")),
        }
    }
}

impl Serialize for DepartureTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DepartureTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DepartureTime::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad departure time {s:?}")))
    }
}

/// Parses `HH:mm` strictly (two digits each, whole minutes).
pub fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
        return None;
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// A line: its stations, fares and rules. A departure keeps a copy of the line as it was
/// when the departure was last imported (its *snapshot*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// `lineId`, stable.
    pub id: String,
    /// e.g. `上海-天津`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// A disabled line is not listed and its departures are not on sale.
    pub enabled: bool,
    pub from_time_type: TimeType,
    /// Presale period in days.
    pub pre_sell_day: u32,
    /// Sale closes this many minutes before D.
    pub presell_time: u32,
    /// In `seq` order, ≥ 2.
    pub stations: Vec<Station>,
    pub segment_prices: Vec<SegmentPrice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer_points: Vec<TransferPoint>,
    /// `true`: refunds of whole orders only.
    pub is_order_refund: bool,
    pub refund_rules: Vec<RefundTier>,
    /// Round-trip lines: the return leaves 0, 1 or 2 days after the outbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_days: Option<u8>,
    /// Accepted `passengerCertificateType` codes (SPI codes, §5.3); default `["1"]`.
    pub certificate_types: Vec<String>,
    /// Where tickets are collected (`fetchTicketSpot`, §3.7), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_ticket_spot: Option<String>,
    /// The gate (`ticketWicket`, §3.7), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_wicket: Option<String>,
    /// Driver contact phone for the custom SMS (`smsContent`, §3.7), if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_contact_phone: Option<String>,
}

impl Line {
    /// The station with this code.
    pub fn station(&self, code: &str) -> Option<(usize, &Station)> {
        self.stations.iter().enumerate().find(|(_, s)| s.station_code == code)
    }
    /// First station where passengers may board.
    pub fn first_boarding(&self) -> Option<&Station> {
        self.stations.iter().find(|s| s.boarding)
    }
    /// Last station where passengers may alight.
    pub fn last_alighting(&self) -> Option<&Station> {
        self.stations.iter().rev().find(|s| s.alighting)
    }
    /// The fare of a (from, to) pair, if that pair is sold.
    pub fn segment_price(&self, from_code: &str, to_code: &str) -> Option<&SegmentPrice> {
        self.segment_prices.iter().find(|p| p.from_station_code == from_code && p.to_station_code == to_code)
    }
    /// The (from city code, to city code) pairs of every sold segment, deduplicated, in order.
    pub fn city_pairs(&self) -> Vec<(&Station, &Station)> {
        let mut out: Vec<(&Station, &Station)> = Vec::new();
        for p in &self.segment_prices {
            if let (Some((_, f)), Some((_, t))) = (self.station(&p.from_station_code), self.station(&p.to_station_code)) {
                if !out.iter().any(|(a, b)| a.city_code == f.city_code && b.city_code == t.city_code) {
                    out.push((f, t));
                }
            }
        }
        out
    }
    /// Whether a sold segment boards in one of `from_cities` and alights (later) in one of
    /// `to_cities` (any city when `None`).
    pub fn serves(&self, from_cities: &[&str], to_cities: Option<&[&str]>) -> bool {
        self.city_pairs()
            .iter()
            .any(|(f, t)| from_cities.contains(&f.city_code.as_str()) && to_cities.is_none_or(|tc| tc.contains(&t.city_code.as_str())))
    }
}

/// Why and when a departure was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stop {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// One run of a line on one date: the record that the seat query, create order and refunds
/// read (one query on its partition, see [`super::load_departure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Departure {
    /// Assigned once, never changed or reused (§2.6).
    pub schedule_id: String,
    /// The line as of the departure's last import.
    pub line: Line,
    /// GMT+8 date at the first station.
    pub from_date: NaiveDate,
    pub time: DepartureTime,
    /// Seats of the run (capacity). Seats left live in the counter record.
    pub seats: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// The date under which the seat counter is indexed: the departure's first date, kept
    /// when the date moves (the counter is never re-put, so its index entry never moves).
    pub seats_date: NaiveDate,
}

/// Where a departure stands with respect to sales at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleState {
    /// Stopped by the operator, or its line is disabled.
    Stopped,
    /// Before 00:00 of (fromDate - preSellDay).
    NotYetOpen,
    OnSale,
    /// At or after D - presellTime.
    Closed,
}

/// A resolved (boarding, alighting) pair of a departure, with its fares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Index into `line.stations` of the boarding station.
    pub from_index: usize,
    /// Index into `line.stations` of the alighting station.
    pub to_index: usize,
    pub from_station_code: String,
    pub to_station_code: String,
    /// Adult fare, fen.
    pub price: i64,
    /// Child fare, fen; `None` = no child tickets.
    pub child_price: Option<i64>,
}

impl Segment {
    /// The fare of one passenger: adult, or child (`None` if the segment sells no child
    /// tickets → `1401`).
    pub fn fare(&self, child: bool) -> Option<i64> {
        if child {
            self.child_price
        } else {
            Some(self.price)
        }
    }
}

/// Why a requested segment cannot be sold (`busgate_wire` words it for the passenger; the
/// `Display` text is for logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "segment", content = "station", rename_all = "snake_case")]
pub enum SegmentError {
    #[error("no boarding station {0} on the line")]
    UnknownFromStation(String),
    #[error("no alighting station {0} on the line")]
    UnknownToStation(String),
    #[error("{0} is not a boarding station")]
    NotBoarding(String),
    #[error("{0} is not an alighting station")]
    NotAlighting(String),
    #[error("the alighting station comes before the boarding station")]
    OutOfOrder,
    #[error("the segment has no price")]
    NoPrice,
}

impl Departure {
    /// D: the departure instant (`fromDate` + `fromTime`, or + `fromDurationBegin` for a
    /// rolling departure), GMT+8, as UTC.
    pub fn departure_instant(&self) -> DateTime<Utc> {
        local_instant(self.from_date, self.time.start())
    }

    /// D as a GMT+8 local date-time.
    pub fn departure_local(&self) -> NaiveDateTime {
        self.from_date.and_time(self.time.start())
    }

    /// `startTime` of the seat query and order query: D as `yyyy-MM-dd HH:mm:ss`.
    pub fn start_time_text(&self) -> String {
        self.departure_local().format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// `fromDate` as `yyyy-MM-dd`.
    pub fn from_date_text(&self) -> String {
        self.from_date.format("%Y-%m-%d").to_string()
    }

    /// `fromTime` as `HH:mm` (the window's begin for type 4).
    pub fn from_time_text(&self) -> String {
        self.time.start().format("%H:%M").to_string()
    }

    /// `fromDurationBegin` / `fromDurationEnd` as `HH:mm` (type 4 only).
    pub fn duration_texts(&self) -> Option<(String, String)> {
        match self.time {
            DepartureTime::Fixed(_) => None,
            DepartureTime::Window { begin, end } => Some((begin.format("%H:%M").to_string(), end.format("%H:%M").to_string())),
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Sales open at 00:00 GMT+8 of (`fromDate` - `preSellDay`).
    pub fn sale_opens_at(&self) -> DateTime<Utc> {
        let day = self.from_date - Duration::days(i64::from(self.line.pre_sell_day));
        local_instant(day, NaiveTime::MIN)
    }

    /// Sales close at D - `presellTime` minutes (exclusive).
    pub fn sale_closes_at(&self) -> DateTime<Utc> {
        self.departure_instant() - Duration::minutes(i64::from(self.line.presell_time))
    }

    /// Where the departure stands at `now` (§2.6). Stopped wins over the window.
    pub fn sale_state(&self, now: DateTime<Utc>) -> SaleState {
        if self.stop.is_some() || !self.line.enabled {
            SaleState::Stopped
        } else if now < self.sale_opens_at() {
            SaleState::NotYetOpen
        } else if now >= self.sale_closes_at() {
            SaleState::Closed
        } else {
            SaleState::OnSale
        }
    }

    /// On sale iff not stopped (and its line enabled), now ≥ 00:00 of (fromDate - preSellDay)
    /// and now < D - presellTime (§2.6).
    pub fn on_sale(&self, now: DateTime<Utc>) -> bool {
        self.sale_state(now) == SaleState::OnSale
    }

    /// Whether a request's `fromDate`/`fromTime` (GMT+8) designates this departure: the date
    /// exactly; the time exactly (type 1) or within [begin, end] (type 4). Seconds count.
    pub fn matches_request_time(&self, from_date: NaiveDate, from_time: NaiveTime) -> bool {
        from_date == self.from_date
            && match self.time {
                DepartureTime::Fixed(t) => from_time == t,
                DepartureTime::Window { begin, end } => begin <= from_time && from_time <= end,
            }
    }

    /// Resolves a requested segment (§3.4 check 3, §3.5). Absent codes default to the first
    /// boarding station and the last alighting station.
    pub fn segment(&self, from_code: Option<&str>, to_code: Option<&str>) -> Result<Segment, SegmentError> {
        let line = &self.line;
        let (fi, from) = match from_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => line.station(code).ok_or_else(|| SegmentError::UnknownFromStation(code.to_string()))?,
            None => line.stations.iter().enumerate().find(|(_, s)| s.boarding).ok_or(SegmentError::NoPrice)?,
        };
        let (ti, to) = match to_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => line.station(code).ok_or_else(|| SegmentError::UnknownToStation(code.to_string()))?,
            None => line.stations.iter().enumerate().rev().find(|(_, s)| s.alighting).ok_or(SegmentError::NoPrice)?,
        };
        if !from.boarding {
            return Err(SegmentError::NotBoarding(from.station_code.clone()));
        }
        if !to.alighting {
            return Err(SegmentError::NotAlighting(to.station_code.clone()));
        }
        if ti <= fi {
            return Err(SegmentError::OutOfOrder);
        }
        let p = line.segment_price(&from.station_code, &to.station_code).ok_or(SegmentError::NoPrice)?;
        Ok(Segment {
            from_index: fi,
            to_index: ti,
            from_station_code: from.station_code.clone(),
            to_station_code: to.station_code.clone(),
            price: p.price,
            child_price: p.child_price,
        })
    }

    /// The refund of a ticket of `price_fen` at `now`, by this departure's tiers (§3.3.1).
    pub fn refund_quote(&self, price_fen: i64, now: DateTime<Utc>) -> RefundQuote {
        refund::refund_quote(&self.line.refund_rules, price_fen, self.departure_instant(), now)
    }

    /// First boarding station's city name (`fromCity` of §3.10).
    pub fn from_city_name(&self) -> Option<&str> {
        self.line.first_boarding().map(|s| s.city_name.as_str())
    }

    /// Last alighting station's city name (`toCity` of §3.10).
    pub fn to_city_name(&self) -> Option<&str> {
        self.line.last_alighting().map(|s| s.city_name.as_str())
    }
}

/// A GMT+8 date and time as a UTC instant.
pub fn local_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    date.and_time(time).and_local_timezone(gmt8()).single().expect("fixed offset is unambiguous").with_timezone(&Utc)
}
