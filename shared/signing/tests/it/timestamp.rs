//! `timestamp` parsing (GMT+8 or epoch milliseconds) and the staleness window (§2.3).

use busgate_signing::{check_timestamp, format_timestamp, gmt8, parse_timestamp, TimestampError};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// 2023-08-01 12:00:00 GMT+8 = 2023-08-01 04:00:00 UTC = 1690862400000 ms.
const TS: &str = "2023-08-01 12:00:00";
const TS_MS: &str = "1690862400000";

fn instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 8, 1, 4, 0, 0).unwrap()
}

#[test]
fn parses_gmt8_wall_clock() {
    let t = parse_timestamp(TS).unwrap();
    assert_eq!(t.with_timezone(&Utc), instant());
    assert_eq!(*t.offset(), gmt8());
    assert_eq!(t.timestamp_millis(), 1_690_862_400_000);
    // Around midnight the UTC date is the previous day.
    let t = parse_timestamp("2024-01-01 07:59:59").unwrap();
    assert_eq!(t.with_timezone(&Utc), Utc.with_ymd_and_hms(2023, 12, 31, 23, 59, 59).unwrap());
}

#[test]
fn parses_epoch_milliseconds() {
    let t = parse_timestamp(TS_MS).unwrap();
    assert_eq!(t.with_timezone(&Utc), instant());
    let t = parse_timestamp("1690862400123").unwrap();
    assert_eq!(t.timestamp_subsec_millis(), 123);
}

#[test]
fn rejects_other_forms() {
    for bad in ["", "2023-08-01T12:00:00", "2023-08-01 12:00", "2023/08/01 12:00:00", "2023-13-01 12:00:00", "1690862400.5", "-1", "abc"] {
        assert!(matches!(parse_timestamp(bad), Err(TimestampError::Unparseable(_))), "{bad:?}");
    }
}

#[test]
fn format_round_trips() {
    assert_eq!(format_timestamp(instant()), TS);
    assert_eq!(parse_timestamp(&format_timestamp(instant())).unwrap().with_timezone(&Utc), instant());
}

#[test]
fn staleness_window_boundaries() {
    let window = 300;
    // Exactly at the window passes (`now - ts <= window`).
    assert_eq!(check_timestamp(Some(TS), instant() + Duration::seconds(300), window), Ok(()));
    assert_eq!(check_timestamp(Some(TS_MS), instant() + Duration::seconds(300), window), Ok(()));
    // One second over fails.
    assert_eq!(check_timestamp(Some(TS), instant() + Duration::seconds(301), window), Err(TimestampError::Stale { age_secs: 301, window_secs: 300 }));
    assert!(matches!(check_timestamp(Some(TS_MS), instant() + Duration::seconds(301), window), Err(TimestampError::Stale { .. })));
    // The SDK compares milliseconds: one millisecond over already fails.
    assert!(check_timestamp(Some(TS), instant() + Duration::milliseconds(300_001), window).is_err());
    // Fresh passes.
    assert_eq!(check_timestamp(Some(TS), instant(), window), Ok(()));
    assert_eq!(check_timestamp(Some(TS), instant() + Duration::seconds(1), window), Ok(()));
}

#[test]
fn future_timestamps_pass() {
    // Only staleness is checked.
    assert_eq!(check_timestamp(Some(TS), instant() - Duration::seconds(1), 300), Ok(()));
    assert_eq!(check_timestamp(Some(TS), instant() - Duration::days(365), 300), Ok(()));
}

#[test]
fn window_zero_disables_the_check() {
    let much_later = instant() + Duration::days(3650);
    assert_eq!(check_timestamp(Some(TS), much_later, 0), Ok(()));
    assert_eq!(check_timestamp(None, much_later, 0), Ok(()));
    assert_eq!(check_timestamp(Some("garbage"), much_later, 0), Ok(()));
}

#[test]
fn missing_or_unparseable_fails_when_enabled() {
    assert_eq!(check_timestamp(None, instant(), 300), Err(TimestampError::Missing));
    assert_eq!(check_timestamp(Some("  "), instant(), 300), Err(TimestampError::Missing));
    assert!(matches!(check_timestamp(Some("2023-08-01"), instant(), 300), Err(TimestampError::Unparseable(_))));
}

#[test]
fn timestamp_read_from_a_signed_query() {
    // The S1 query carries the timestamp `+`-encoded; once decoded it parses.
    let q = busgate_signing::parse_query("timestamp=2023-08-01+12%3A00%3A00&v=2.0");
    let ts = q.get("timestamp").map(String::as_str);
    assert_eq!(check_timestamp(ts, instant() + Duration::seconds(60), 300), Ok(()));
}
