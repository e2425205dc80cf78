//! A small catalogue and request builders shared by the order and refund tests (the
//! `busgate-tests` crate includes it with `#[path]`; it holds no tests of its own), and the
//! sale operations answering as Fliggy reads them.
#![allow(dead_code)]

use std::sync::Arc;

use busgate_domain::catalogue::{
    apply_import, demo_refund_tiers, load_departure_record, CatalogueFile, City, DepartureEntry, DepartureTime, GeoPoint, ImportOptions, Line,
    LineEntry, SegmentPrice, Station, StationType, TimeType,
};
use busgate_domain::gmt8;
use busgate_domain::orders::{CreateRequest, CustomAddress, PassengerInput, PassengerType, Settings};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::Store;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;

/// GMT+8 wall time as an instant.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    gmt8().with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap().with_timezone(&Utc)
}

/// "Now" of the tests: 2022-11-01 10:00:00 GMT+8.
pub fn now() -> DateTime<Utc> {
    at(2022, 11, 1, 10, 0, 0)
}

/// D of `S72`: 2022-11-03 10:00 GMT+8.
pub fn d72() -> DateTime<Utc> {
    at(2022, 11, 3, 10, 0, 0)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[allow(clippy::too_many_arguments)]
fn point(seq: u32, code: &str, name: &str, city: &City, boarding: bool, alighting: bool, offset: u32) -> Station {
    Station {
        seq,
        station_code: code.into(),
        station_name: name.into(),
        city_code: city.code.clone(),
        city_name: city.name.clone(),
        station_address: None,
        station_type: StationType::Point,
        longitude: Some(dec("121.475190")),
        latitude: Some(dec("31.228833")),
        geofence: Vec::new(),
        station_feature: None,
        boarding,
        alighting,
        offset_minutes: offset,
    }
}

fn line(id: &str, name: &str) -> Line {
    Line {
        id: id.into(),
        name: name.into(),
        desc: None,
        enabled: true,
        from_time_type: TimeType::Fixed,
        pre_sell_day: 7,
        presell_time: 30,
        stations: Vec::new(),
        segment_prices: Vec::new(),
        transfer_points: Vec::new(),
        is_order_refund: false,
        refund_rules: demo_refund_tiers(),
        back_days: None,
        certificate_types: vec!["1".into(), "2".into()],
        fetch_ticket_spot: None,
        ticket_wicket: None,
        driver_contact_phone: None,
    }
}

fn dep(sid: &str, date: NaiveDate, time: &str, seats: u32, stopped: Option<&str>) -> DepartureEntry {
    DepartureEntry {
        schedule_id: Some(sid.into()),
        date: Some(date),
        time: Some(DepartureTime::parse(time).unwrap()),
        seats: Some(seats),
        stopped: stopped.map(str::to_string),
        resume: false,
    }
}

/// The test catalogue:
///
/// * `L1` 上海-天津 (per ticket): `SH01` point → `SH02` area (boarding, geofence of the spec
///   example) → `TJ01`; fares SH01→TJ01 2000 (child 1000), SH02→TJ01 1800 (no child);
///   certificate types 1 and 2; gate `3号检票口`, spot `上海站北广场`.
///   Departures: `S72` 2022-11-03 10:00 (10 seats), `S40` 2022-11-03 12:00 (40 seats),
///   `SSTOP` 2022-11-03 16:00 stopped, `SFAR` 2022-11-20 10:00 (not yet on sale).
/// * `L2` 上海-苏州 (whole order, presellTime 0, driver phone): `SZA` → `SZB` 5000;
///   `SW` 2022-11-03 12:00 (20 seats), `SSOON` 2022-11-01 10:20 (5 seats).
pub fn catalogue() -> CatalogueFile {
    let sh = City { code: "310100".into(), name: "上海市".into(), province: "上海市".into() };
    let tj = City { code: "120100".into(), name: "天津市".into(), province: "天津市".into() };
    let sz = City { code: "320500".into(), name: "苏州市".into(), province: "江苏省".into() };

    let mut l1 = line("L1", "上海-天津");
    let mut area = point(2, "SH02", "虹桥接送区", &sh, true, false, 40);
    area.station_type = StationType::Area;
    area.longitude = None;
    area.latitude = None;
    area.geofence =
        vec![GeoPoint::new(dec("121.30"), dec("31.20")), GeoPoint::new(dec("121.34"), dec("31.20")), GeoPoint::new(dec("121.34"), dec("31.17"))];
    l1.stations = vec![point(1, "SH01", "人民广场", &sh, true, false, 0), area, point(3, "TJ01", "天津站", &tj, false, true, 600)];
    l1.segment_prices = vec![
        SegmentPrice { from_station_code: "SH01".into(), to_station_code: "TJ01".into(), price: 2000, child_price: Some(1000) },
        SegmentPrice { from_station_code: "SH02".into(), to_station_code: "TJ01".into(), price: 1800, child_price: None },
    ];
    l1.ticket_wicket = Some("3号检票口".into());
    l1.fetch_ticket_spot = Some("上海站北广场".into());

    let mut l2 = line("L2", "上海-苏州");
    l2.presell_time = 0;
    l2.is_order_refund = true;
    l2.driver_contact_phone = Some("4008001234".into());
    l2.certificate_types = vec!["1".into()];
    l2.stations = vec![point(1, "SZA", "上海南站", &sh, true, false, 0), point(2, "SZB", "苏州站", &sz, false, true, 90)];
    l2.segment_prices = vec![SegmentPrice { from_station_code: "SZA".into(), to_station_code: "SZB".into(), price: 5000, child_price: Some(2500) }];

    let d3 = NaiveDate::from_ymd_opt(2022, 11, 3).unwrap();
    CatalogueFile {
        cities: vec![tj, sh, sz],
        lines: vec![
            LineEntry {
                line: l1,
                seats: 10,
                timetable: Vec::new(),
                departures: vec![
                    dep("S72", d3, "10:00", 10, None),
                    dep("S40", d3, "12:00", 40, None),
                    dep("SSTOP", d3, "16:00", 10, Some("车辆故障")),
                    dep("SFAR", NaiveDate::from_ymd_opt(2022, 11, 20).unwrap(), "10:00", 10, None),
                ],
            },
            LineEntry {
                line: l2,
                seats: 20,
                timetable: Vec::new(),
                departures: vec![dep("SW", d3, "12:00", 20, None), dep("SSOON", NaiveDate::from_ymd_opt(2022, 11, 1).unwrap(), "10:20", 5, None)],
            },
        ],
    }
}

/// A memory store holding the test catalogue (imported at [`now`]).
pub async fn store() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    apply_import(store.as_ref(), &catalogue(), now(), &ImportOptions::default(), &|_, _| {}).await.expect("catalogue imports");
    store
}

/// Seats left of a departure.
pub async fn seats(store: &dyn Store, sid: &str) -> i64 {
    load_departure_record(store, sid).await.unwrap().unwrap().seats_left
}

pub fn settings() -> Settings {
    Settings::default()
}

pub fn async_settings() -> Settings {
    Settings { async_issue: true, async_refund: true, ..Settings::default() }
}

pub fn adult(name: &str, id_no: &str) -> PassengerInput {
    PassengerInput {
        name: name.into(),
        cert_type: "1".into(),
        cert_no: id_no.into(),
        passenger_type: Some(PassengerType::Adult),
        ticket_price: Some(2000),
    }
}

/// A create on `S72`, SH01 → TJ01, with `n` adults at 2000.
pub fn request(id: &str, n: usize) -> CreateRequest {
    CreateRequest {
        alitrip_order_id: id.into(),
        schedule_id: "S72".into(),
        line_id: Some("L1".into()),
        from_date: NaiveDate::from_ymd_opt(2022, 11, 3).unwrap(),
        from_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        from_station_code: Some("SH01".into()),
        to_station_code: Some("TJ01".into()),
        ticket_count: n as u32,
        order_amount: 2000 * n as i64,
        ticket_amount: Some(2000 * n as i64),
        custom_departure: CustomAddress::default(),
        custom_destination: CustomAddress::default(),
        info: Default::default(),
        passengers: (0..n).map(|i| adult(&format!("乘客{i}"), &format!("11010119900101{:04}", 1000 + i))).collect(),
    }
}

/// A create on another departure of `L1` (same segment and fares).
pub fn request_on(sid: &str, id: &str, n: usize, time: (u32, u32)) -> CreateRequest {
    let mut r = request(id, n);
    r.schedule_id = sid.into();
    r.from_time = NaiveTime::from_hms_opt(time.0, time.1, 0).unwrap();
    r
}

/// A create on `SW` (line `L2`, whole-order refunds), `n` adults at 5000.
pub fn request_sw(id: &str, n: usize) -> CreateRequest {
    let mut r = request(id, n);
    r.schedule_id = "SW".into();
    r.line_id = Some("L2".into());
    r.from_time = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    r.from_station_code = Some("SZA".into());
    r.to_station_code = Some("SZB".into());
    r.order_amount = 5000 * n as i64;
    for p in &mut r.passengers {
        p.ticket_price = Some(5000);
    }
    r
}

/// A store that yields to the scheduler before every call, so that concurrent requests
/// really interleave between their reads and their writes.
pub struct Yielding(pub Arc<MemoryStore>);

#[async_trait::async_trait]
impl Store for Yielding {
    async fn get(&self, key: &busgate_domain::store::Key) -> Result<Option<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.get(key).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.query(pk, sk_prefix).await
    }
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.query_index(pk, sk_prefix).await
    }
    async fn transact(&self, writes: Vec<busgate_domain::store::Write>) -> Result<(), busgate_domain::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.transact(writes).await
    }
}

/// The domain's order operations, those that answer Fliggy returning their answers rendered
/// as the bus handlers render them (`busgate_wire::orders`); everything else as it is.
pub mod orders {
    use busgate_domain::orders as domain;
    pub use busgate_domain::orders::*;
    use busgate_domain::store::Store;
    use busgate_wire::fliggy::{Data, Failure, RetCode};
    use busgate_wire::orders as wire;
    use chrono::{DateTime, Utc};
    use serde_json::{Map, Value};

    type Fields = Map<String, Value>;

    /// A refusal as Fliggy reads it (its code and words), rendered as the bus handlers render it.
    pub fn words<T>(r: Result<T, OrderError>) -> Result<T, Failure> {
        r.map_err(wire::failure)
    }
    /// `invalid-state` with these words.
    pub fn state(words: &str) -> Failure {
        Failure::new(RetCode::InvalidState, words)
    }
    /// A refused sale's code with these words.
    pub fn refused(code: RefusalCode, words: &str) -> Failure {
        Failure::new(wire::refusal(code), words)
    }
    /// `1401` with this detail.
    pub fn mismatch(detail: &str) -> Failure {
        Failure::mismatch(detail)
    }

    /// A view's data fields, as the envelope carries them.
    fn fields(data: Data) -> Fields {
        data.into_fields()
    }

    fn rendered<T>(reply: Reply<T>, render: impl FnOnce(&T) -> Fields) -> Reply<Fields> {
        Reply { result: reply.result.map(|t| render(&t)), callback_ids: reply.callback_ids }
    }

    pub async fn create(store: &dyn Store, req: &CreateRequest, now: DateTime<Utc>, settings: &Settings) -> Result<Fields, OrderError> {
        domain::create(store, req, now, settings).await.map(|o| fields(Data::of(&wire::created(&o))))
    }
    pub async fn query(store: &dyn Store, id: &str, agent: Option<&str>, now: DateTime<Utc>) -> Reply<Fields> {
        rendered(domain::query(store, id, agent, now).await, |t| fields(Data::of(&wire::queried(t))))
    }
    pub async fn confirm(store: &dyn Store, id: &str, agent: Option<&str>, now: DateTime<Utc>, settings: &Settings) -> Reply<Fields> {
        rendered(domain::confirm(store, id, agent, now, settings).await, |t| fields(Data::of(&wire::confirmed(t))))
    }
    pub async fn close(store: &dyn Store, id: &str, agent: Option<&str>, now: DateTime<Utc>) -> Reply<Fields> {
        rendered(domain::close(store, id, agent, now).await, |t| fields(Data::of(&wire::closed(t))))
    }
    pub async fn fee(store: &dyn Store, id: &str, agent: Option<&str>, now: DateTime<Utc>) -> Reply<Fields> {
        rendered(domain::fee(store, id, agent, now).await, |t| fields(Data::of(&wire::refund_fee(t))))
    }
    pub async fn apply_refund(store: &dyn Store, req: &RefundApplyRequest, now: DateTime<Utc>, settings: &Settings) -> Reply<Fields> {
        rendered(domain::apply_refund(store, req, now, settings).await, |t| fields(Data::of(&wire::refund_accepted(t))))
    }
}
