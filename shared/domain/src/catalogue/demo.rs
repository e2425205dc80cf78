//! The demo operator that local mode loads into an empty store: three cities, an airport
//! express with segment prices, a rolling 流水班 with a geofenced pick-up area, a round-trip
//! pair of lines, a week of departures from `today`, and one stopped departure.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::file::{generated_schedule_id, CatalogueFile, DepartureEntry, LineEntry, TimetableEntry};
use super::model::{demo_refund_tiers, City, DepartureTime, GeoPoint, Line, SegmentPrice, Station, StationType, TimeType, TransferPoint};

fn dec(s: &str) -> Decimal {
    s.parse().expect("demo coordinate")
}

fn city(code: &str, name: &str, province: &str) -> City {
    City { code: code.into(), name: name.into(), province: province.into() }
}

#[allow(clippy::too_many_arguments)]
fn point(seq: u32, code: &str, name: &str, city: &City, lng: &str, lat: &str, boarding: bool, alighting: bool, offset: u32) -> Station {
    Station {
        seq,
        station_code: code.into(),
        station_name: name.into(),
        city_code: city.code.clone(),
        city_name: city.name.clone(),
        station_address: None,
        station_type: StationType::Point,
        longitude: Some(dec(lng)),
        latitude: Some(dec(lat)),
        geofence: Vec::new(),
        station_feature: None,
        boarding,
        alighting,
        offset_minutes: offset,
    }
}

fn price(from: &str, to: &str, price: i64, child: Option<i64>) -> SegmentPrice {
    SegmentPrice { from_station_code: from.into(), to_station_code: to.into(), price, child_price: child }
}

fn time(t: &str) -> DepartureTime {
    DepartureTime::parse(t).expect("demo time")
}

fn base_line(id: &str, name: &str, time_type: TimeType, pre_sell_day: u32, presell_time: u32) -> Line {
    Line {
        id: id.into(),
        name: name.into(),
        desc: None,
        enabled: true,
        from_time_type: time_type,
        pre_sell_day,
        presell_time,
        stations: Vec::new(),
        segment_prices: Vec::new(),
        transfer_points: Vec::new(),
        is_order_refund: false,
        refund_rules: demo_refund_tiers(),
        back_days: None,
        certificate_types: vec!["1".into()],
        fetch_ticket_spot: None,
        ticket_wicket: None,
        driver_contact_phone: None,
    }
}

fn week(today: NaiveDate, times: &[&str], seats: Option<u32>) -> Vec<TimetableEntry> {
    vec![TimetableEntry { from: today, to: today + Duration::days(6), weekdays: Vec::new(), times: times.iter().map(|t| time(t)).collect(), seats }]
}

/// Id of the demo line whose departure on `today + 2` at 08:00 is stopped.
pub const DEMO_ROUND_TRIP_LINE: &str = "SH-HZ-RT";
/// Id of the demo airport express.
pub const DEMO_AIRPORT_LINE: &str = "AIRPORT-EXP";
/// Id of the demo rolling (流水班) line.
pub const DEMO_ROLLING_LINE: &str = "SZ-SHA-FLOW";
/// Id of the demo return line.
pub const DEMO_RETURN_LINE: &str = "HZ-SH-RT";

/// The `scheduleId` of the stopped demo departure.
pub fn demo_stopped_schedule_id(today: NaiveDate) -> String {
    generated_schedule_id(DEMO_ROUND_TRIP_LINE, today + Duration::days(2), time("08:00"))
}

/// The demo catalogue, with a week of departures from `today` (GMT+8).
pub fn demo_catalogue(today: NaiveDate) -> CatalogueFile {
    let sh = city("310100", "上海市", "上海市");
    let sz = city("320500", "苏州市", "江苏省");
    let hz = city("330100", "杭州市", "浙江省");

    // 1. Airport express: 人民广场 → 虹桥机场T2 → 浦东机场T2, a fare per segment.
    let mut airport = base_line(DEMO_AIRPORT_LINE, "人民广场-虹桥机场-浦东机场", TimeType::Fixed, 7, 10);
    airport.desc = Some("机场快线,途经虹桥机场,直达浦东机场".into());
    airport.stations = vec![
        point(1, "RMGC", "人民广场", &sh, "121.475190", "31.228833", true, false, 0),
        point(2, "SHA2", "虹桥机场T2", &sh, "121.327000", "31.194000", true, true, 40),
        point(3, "PVG2", "浦东机场T2", &sh, "121.805000", "31.151000", false, true, 100),
    ];
    airport.stations[0].station_address = Some("上海市黄浦区人民大道120号".into());
    for s in &mut airport.stations {
        s.station_feature = Some("机场专线".into());
    }
    airport.segment_prices = vec![price("RMGC", "SHA2", 1500, Some(750)), price("RMGC", "PVG2", 3000, Some(1500)), price("SHA2", "PVG2", 2500, None)];
    airport.certificate_types = vec!["1".into(), "2".into(), "3".into(), "4".into()];
    airport.ticket_wicket = Some("人民广场站2号口".into());

    // 2. Rolling 流水班: door-to-door pick-up anywhere in 苏州工业园区, to 上海虹桥站.
    let mut rolling = base_line(DEMO_ROLLING_LINE, "苏州工业园区-上海虹桥站", TimeType::Rolling, 3, 30);
    rolling.desc = Some("流水班,园区内上门接,满员即走".into());
    let mut area = point(1, "SZYQ", "苏州工业园区接送区", &sz, "0", "0", true, false, 0);
    area.station_type = StationType::Area;
    area.longitude = None;
    area.latitude = None;
    area.geofence = [
        ("120.670000", "31.330000"),
        ("120.760000", "31.340000"),
        ("120.780000", "31.290000"),
        ("120.720000", "31.250000"),
        ("120.660000", "31.280000"),
    ]
    .iter()
    .map(|(x, y)| GeoPoint::new(dec(x), dec(y)))
    .collect();
    area.station_feature = Some("上门接送".into());
    rolling.stations = vec![area, point(2, "SHHQ", "上海虹桥站", &sh, "121.320000", "31.194500", false, true, 90)];
    rolling.segment_prices = vec![price("SZYQ", "SHHQ", 6800, Some(3400))];
    rolling.driver_contact_phone = Some("4008001234".into());

    // 3. Round trip: 上海南站 → 杭州东站, return 1 day later on the return line.
    let mut out = base_line(DEMO_ROUND_TRIP_LINE, "上海-杭州", TimeType::Fixed, 10, 30);
    out.desc = Some("往返线路,回程次日发车".into());
    out.stations = vec![
        point(1, "SHNZ", "上海南站", &sh, "121.429580", "31.154770", true, false, 0),
        point(2, "HZDZ", "杭州东站", &hz, "120.212600", "30.290800", false, true, 150),
    ];
    out.segment_prices = vec![price("SHNZ", "HZDZ", 8800, Some(4400))];
    out.transfer_points =
        vec![TransferPoint { name: "嘉兴服务区".into(), address: None, longitude: None, latitude: None, desc: Some("停靠15分钟".into()) }];
    out.is_order_refund = true;
    out.back_days = Some(1);
    out.fetch_ticket_spot = Some("上海南站北广场3号门".into());
    out.ticket_wicket = Some("3号检票口".into());

    let mut back = base_line(DEMO_RETURN_LINE, "杭州-上海", TimeType::Fixed, 10, 30);
    back.stations = vec![
        point(1, "HZDZ", "杭州东站", &hz, "120.212600", "30.290800", true, false, 0),
        point(2, "SHNZ", "上海南站", &sh, "121.429580", "31.154770", false, true, 150),
    ];
    back.segment_prices = vec![price("HZDZ", "SHNZ", 8800, Some(4400))];
    back.transfer_points = out.transfer_points.clone();
    back.is_order_refund = true;

    CatalogueFile {
        cities: vec![sh, sz, hz],
        lines: vec![
            LineEntry {
                line: airport,
                seats: 45,
                timetable: week(today, &["06:30", "08:30", "10:30", "13:30", "16:30", "19:30"], None),
                departures: Vec::new(),
            },
            LineEntry { line: rolling, seats: 18, timetable: week(today, &["07:00-09:00", "13:00-15:00"], None), departures: Vec::new() },
            LineEntry {
                line: out,
                seats: 50,
                timetable: week(today, &["08:00", "17:00"], None),
                departures: vec![DepartureEntry {
                    schedule_id: Some(demo_stopped_schedule_id(today)),
                    stopped: Some("车辆检修".into()),
                    ..Default::default()
                }],
            },
            LineEntry { line: back, seats: 50, timetable: week(today, &["10:00", "18:30"], None), departures: Vec::new() },
        ],
    }
}
