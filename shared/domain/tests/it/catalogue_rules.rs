//! Pure catalogue rules: refund fee tiers (§3.3.1), the sale window (§2.6), the city match
//! (§2.5), geofences, segments and request times. Instants are fixed, in GMT+8.

use busgate_domain::catalogue::geo::geofence_problems;
use busgate_domain::catalogue::model::local_instant;
use busgate_domain::catalogue::*;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn hm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}
/// A GMT+8 wall-clock instant.
fn at(s: &str) -> DateTime<Utc> {
    let (d, t) = s.split_once(' ').unwrap();
    local_instant(date(d), NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap())
}
fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const TODAY: &str = "2025-03-03";

/// A demo departure by line id and `scheduleId` suffix.
fn demo_departure(line_id: &str, date_s: &str, time: &str) -> Departure {
    let file = demo_catalogue(date(TODAY));
    let li = file.lines.iter().position(|l| l.line.id == line_id).unwrap();
    let p =
        file.planned_departures().unwrap().into_iter().find(|p| p.line_index == li && p.date == date(date_s) && p.time.to_string() == time).unwrap();
    Departure {
        schedule_id: p.schedule_id,
        line: file.lines[li].line.clone(),
        from_date: p.date,
        time: p.time,
        seats: p.seats,
        stop: None,
        seats_date: p.date,
    }
}

fn airport_0830() -> Departure {
    demo_departure("AIRPORT-EXP", "2025-03-05", "08:30")
}

// --- refund tiers --------------------------------------------------------------------------

#[test]
fn refund_fee_at_every_tier_boundary() {
    let tiers = demo_refund_tiers();
    let d = at("2025-03-10 10:00:00");
    let ms = Duration::milliseconds;
    let h = Duration::hours;
    // (now, price, refundable, surcharge, refund, why not)
    type Case = (DateTime<Utc>, i64, bool, i64, i64, Option<NotRefundable>);
    let cases: Vec<Case> = vec![
        // departed: just after D
        (d + ms(1), 2000, false, 2000, 0, Some(NotRefundable::Departed)),
        (d + h(5), 2000, false, 2000, 0, Some(NotRefundable::Departed)),
        // exactly D: h = 0 → first tier
        (d, 2000, false, 2000, 0, Some(NotRefundable::Tier { min_hours: 0, max_hours: Some(3) })),
        // [0, 3): just inside 3 h
        (d - h(3) + ms(1), 2000, false, 2000, 0, Some(NotRefundable::Tier { min_hours: 0, max_hours: Some(3) })),
        // exactly 3 h → 25 %
        (d - h(3), 2000, true, 500, 1500, None),
        (d - h(3), 1999, true, 499, 1500, None),
        // just below 6 h → 25 %; exactly 6 h → 10 %
        (d - h(6) + ms(1), 2000, true, 500, 1500, None),
        (d - h(6), 2000, true, 200, 1800, None),
        // just below 24 h → 10 %; exactly 24 h → 5 %
        (d - h(24) + ms(1), 2000, true, 200, 1800, None),
        (d - h(24), 2000, true, 100, 1900, None),
        // just below 48 h → 5 %; exactly 48 h → free
        (d - h(48) + ms(1), 2000, true, 100, 1900, None),
        (d - h(48), 2000, true, 0, 2000, None),
        (d - h(24 * 30), 2000, true, 0, 2000, None),
        // floor in the user's favour
        (d - h(10), 1999, true, 199, 1800, None),
        (d - h(30), 1999, true, 99, 1900, None),
        (d - h(4), 1, true, 0, 1, None),
        (d - h(4), 0, true, 0, 0, None),
    ];
    for (i, (now, price, refundable, surcharge, refund, bar)) in cases.into_iter().enumerate() {
        let q = refund_quote(&tiers, price, d, now);
        assert_eq!(q, RefundQuote { refundable, surcharge, refund, bar }, "case {i}: h = {} ms before D", (d - now).num_milliseconds());
    }
}

#[test]
fn refusals_name_the_middle_and_last_tiers() {
    let tiers =
        vec![RefundTier::fee(0, Some(2), 50), RefundTier::refusing(2, Some(12)), RefundTier::fee(12, Some(72), 20), RefundTier::refusing(72, None)];
    let d = at("2025-03-10 10:00:00");
    assert_eq!(refund_quote(&tiers, 1000, d, d - Duration::hours(5)).bar, Some(NotRefundable::Tier { min_hours: 2, max_hours: Some(12) }));
    assert_eq!(refund_quote(&tiers, 1000, d, d - Duration::hours(100)).bar, Some(NotRefundable::Tier { min_hours: 72, max_hours: None }));
    assert_eq!(refund_quote(&tiers, 1000, d, d - Duration::hours(1)).surcharge, 500);
    assert_eq!(refund_quote(&tiers, 1001, d, d - Duration::hours(13)).surcharge, 200);
}

#[test]
fn departure_refund_quote_uses_its_d() {
    let dep = airport_0830();
    let d = dep.departure_instant();
    assert_eq!(d, at("2025-03-05 08:30:00"));
    assert_eq!(dep.refund_quote(3000, at("2025-03-05 05:30:00")).surcharge, 750);
    assert!(!dep.refund_quote(3000, at("2025-03-05 05:30:01")).refundable);
}

// --- departure instant and sale window -----------------------------------------------------

#[test]
fn departure_instant_is_gmt8() {
    let dep = airport_0830();
    assert_eq!(dep.departure_instant().to_rfc3339(), "2025-03-05T00:30:00+00:00");
    assert_eq!(dep.start_time_text(), "2025-03-05 08:30:00");
    assert_eq!(dep.from_time_text(), "08:30");
    let rolling = demo_departure("SZ-SHA-FLOW", "2025-03-04", "07:00-09:00");
    assert_eq!(rolling.start_time_text(), "2025-03-04 07:00:00");
    assert_eq!(rolling.duration_texts(), Some(("07:00".into(), "09:00".into())));
    assert_eq!(rolling.line.from_time_type, TimeType::Rolling);
}

#[test]
fn sale_window_edges() {
    // Airport express: preSellDay 7, presellTime 10 → opens 2025-02-26 00:00, closes 08:20.
    let dep = airport_0830();
    assert_eq!(dep.sale_opens_at(), at("2025-02-26 00:00:00"));
    assert_eq!(dep.sale_closes_at(), at("2025-03-05 08:20:00"));
    let cases = [
        ("2025-02-25 23:59:59", SaleState::NotYetOpen),
        ("2025-02-26 00:00:00", SaleState::OnSale),
        ("2025-03-05 08:19:59", SaleState::OnSale),
        ("2025-03-05 08:20:00", SaleState::Closed),
        ("2025-03-05 09:00:00", SaleState::Closed),
    ];
    for (now, state) in cases {
        assert_eq!(dep.sale_state(at(now)), state, "at {now}");
        assert_eq!(dep.on_sale(at(now)), state == SaleState::OnSale, "at {now}");
    }
    let mut stopped = dep.clone();
    stopped.stop = Some(Stop { at: at("2025-03-01 09:00:00"), reason: "车辆故障".into() });
    assert_eq!(stopped.sale_state(at("2025-03-04 12:00:00")), SaleState::Stopped);
    assert!(!stopped.on_sale(at("2025-03-04 12:00:00")));
    let mut disabled = dep.clone();
    disabled.line.enabled = false;
    assert!(!disabled.on_sale(at("2025-03-04 12:00:00")));
}

#[test]
fn request_time_matching() {
    let dep = airport_0830();
    assert!(dep.matches_request_time(date("2025-03-05"), hm("08:30")));
    assert!(!dep.matches_request_time(date("2025-03-05"), hm("08:31")));
    assert!(!dep.matches_request_time(date("2025-03-06"), hm("08:30")));
    let rolling = demo_departure("SZ-SHA-FLOW", "2025-03-04", "07:00-09:00");
    for (t, ok) in [("06:59", false), ("07:00", true), ("08:15", true), ("09:00", true), ("09:01", false)] {
        assert_eq!(rolling.matches_request_time(date("2025-03-04"), hm(t)), ok, "{t}");
    }
}

// --- segments ------------------------------------------------------------------------------

#[test]
fn segments_default_and_checks() {
    let dep = airport_0830();
    let s = dep.segment(None, None).unwrap();
    assert_eq!((s.from_station_code.as_str(), s.to_station_code.as_str(), s.price, s.child_price), ("RMGC", "PVG2", 3000, Some(1500)));
    assert_eq!(s.fare(true), Some(1500));
    let s = dep.segment(Some("SHA2"), None).unwrap();
    assert_eq!((s.price, s.child_price, s.fare(true)), (2500, None, None));
    let s = dep.segment(Some("RMGC"), Some("SHA2")).unwrap();
    assert_eq!(s.price, 1500);
    assert_eq!(dep.segment(Some("PVG2"), None), Err(SegmentError::NotBoarding("PVG2".into())));
    assert_eq!(dep.segment(None, Some("RMGC")), Err(SegmentError::NotAlighting("RMGC".into())));
    assert_eq!(dep.segment(Some("SHA2"), Some("SHA2")), Err(SegmentError::OutOfOrder));
    assert_eq!(dep.segment(Some("XX"), None), Err(SegmentError::UnknownFromStation("XX".into())));
    assert_eq!(dep.segment(None, Some("XX")), Err(SegmentError::UnknownToStation("XX".into())));
    // A boarding→alighting pair in order but without a price.
    let mut no_price = dep.clone();
    no_price.line.segment_prices.retain(|p| p.to_station_code != "SHA2");
    assert_eq!(no_price.segment(Some("RMGC"), Some("SHA2")), Err(SegmentError::NoPrice));
    // Empty codes mean absent.
    assert_eq!(dep.segment(Some(""), Some(" ")).unwrap().price, 3000);
}

// --- city match ----------------------------------------------------------------------------

#[test]
fn city_match_rule() {
    assert!(city_matches("上海市", "上海市"));
    assert!(city_matches("上海", "上海市"));
    assert!(city_matches(" 上海 ", "上海市"));
    assert!(!city_matches("上", "上海市"));
    assert!(!city_matches("上海市市", "上海市"));
    assert!(!city_matches("海市", "上海市"));
    assert!(!city_matches("", "上海市"));
    assert!(city_matches("延边朝鲜族自治州", "延边朝鲜族自治州"));
    assert!(!city_matches("延边", "延边朝鲜族自治州"));
}

// --- geofence ------------------------------------------------------------------------------

fn ring(points: &[(&str, &str)]) -> Vec<GeoPoint> {
    points.iter().map(|(x, y)| GeoPoint::new(dec(x), dec(y))).collect()
}

#[test]
fn geofence_inside_outside_boundary() {
    let dep = demo_departure("SZ-SHA-FLOW", "2025-03-04", "07:00-09:00");
    let area = &dep.line.stations[0];
    assert_eq!(area.kind(), StationType::Area);
    // inside
    assert!(area.geofence_contains(dec("120.720000"), dec("31.300000")));
    // outside (east of the area, and far away)
    assert!(!area.geofence_contains(dec("120.800000"), dec("31.300000")));
    assert!(!area.geofence_contains(dec("121.475190"), dec("31.228833")));
    // vertices and edges count as inside, exactly, whatever the decimals
    assert!(area.geofence_contains(dec("120.670000"), dec("31.330000")));
    assert!(area.geofence_contains(dec("120.67"), dec("31.33")));
    assert!(area.geofence_contains(dec("120.715"), dec("31.335"))); // midpoint of the first edge
    assert!(!area.geofence_contains(dec("120.715"), dec("31.335000001"))); // just outside it
    assert!(area.geofence_contains(dec("120.715"), dec("31.334999999")));
    // a fixed-point station contains nothing
    assert!(!dep.line.stations[1].geofence_contains(dec("121.32"), dec("31.1945")));
    // parse as given
    assert_eq!(parse_coordinate("120.7200001").unwrap(), dec("120.7200001"));
}

#[test]
fn geofence_validation() {
    // A valid concave polygon (an L).
    let l_shape = ring(&[("0", "0"), ("2", "0"), ("2", "1"), ("1", "1"), ("1", "2"), ("0", "2")]);
    assert!(geofence_problems(&l_shape).is_empty());
    assert!(polygon_contains(&l_shape, dec("0.5"), dec("1.5")));
    assert!(!polygon_contains(&l_shape, dec("1.5"), dec("1.5")));
    assert!(polygon_contains(&l_shape, dec("1.5"), dec("1")));
    // Self-intersecting (bow tie) is rejected.
    let bow = ring(&[("0", "0"), ("2", "2"), ("2", "0"), ("0", "2")]);
    let p = geofence_problems(&bow);
    assert!(p.iter().any(|m| m.contains("cross")), "{p:?}");
    // Too few points, repeated first point, collinear, touching edges.
    assert!(!geofence_problems(&ring(&[("0", "0"), ("1", "1")])).is_empty());
    let closed = ring(&[("0", "0"), ("1", "0"), ("1", "1"), ("0", "0")]);
    assert!(geofence_problems(&closed)[0].contains("do not close the ring"));
    assert!(geofence_problems(&ring(&[("0", "0"), ("1", "1"), ("2", "2")]))[0].contains("no area"));
    let touching = ring(&[("0", "0"), ("4", "0"), ("4", "4"), ("2", "0"), ("0", "4")]);
    assert!(!geofence_problems(&touching).is_empty());
    let fold = ring(&[("0", "0"), ("2", "0"), ("1", "0"), ("1", "1")]);
    assert!(!geofence_problems(&fold).is_empty());
}
