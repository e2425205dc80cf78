//! `busgate catalogue import`: validation of the file (every mistake reported with its line
//! and path, nothing applied), idempotent application with stable scheduleIds, change
//! records, seat counters and coalesced item.notify callbacks (§4.5).

use std::path::PathBuf;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Mutex;

use busgate_domain::catalogue::demo::{demo_stopped_schedule_id, DEMO_AIRPORT_LINE, DEMO_ROUND_TRIP_LINE};
use busgate_domain::catalogue::import::{list_changes, list_changes_on, Change};
use busgate_domain::catalogue::model::local_instant;
use busgate_domain::catalogue::*;
use busgate_domain::outbox::{BusCallback, Callback, CallbackStatus, Destination};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Counting, Store, Write};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn at(s: &str) -> DateTime<Utc> {
    let (d, t) = s.split_once(' ').unwrap();
    local_instant(date(d), NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap())
}
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalogue").join(name)
}

/// The fixture's week starts on this date.
const FIXTURE_TODAY: &str = "2025-03-03";

fn opts() -> ImportOptions {
    ImportOptions::default()
}

async fn import(store: &dyn Store, file: &CatalogueFile, now: &str) -> ImportReport {
    apply_import(store, file, at(now), &opts(), &|_, _| {}).await.unwrap()
}

/// Pending item.notify callbacks (departures changed), in queue order.
async fn pending_notifies(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for item in store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap() {
        let cb: Callback = item.decode().unwrap();
        let Destination::Bus { callback: BusCallback::DeparturesChanged { from_city, to_city, date } } = cb.destination else {
            panic!("not a departures-changed callback: {:?}", cb.destination)
        };
        out.push(notify(&from_city, &to_city, &date.to_string()));
    }
    out
}

fn notify(from: &str, to: &str, d: &str) -> String {
    format!("{from} → {to} on {d}")
}

// --- the demo file -------------------------------------------------------------------------

#[test]
fn demo_fixture_is_the_demo_catalogue() {
    let want = demo_catalogue(date(FIXTURE_TODAY));
    let path = fixture("demo.json");
    if std::env::var_os("BUSGATE_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, want.to_json() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = parse_import(&text).unwrap_or_else(|p| panic!("{}", p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")));
    assert_eq!(parsed, want);
}

#[test]
fn demo_round_trips_through_the_file_format() {
    for today in ["2025-01-01", "2025-03-29", "2024-12-28"] {
        let file = demo_catalogue(date(today));
        assert_eq!(parse_import(&file.to_json()).unwrap(), file, "{today}");
        let planned = file.planned_departures().unwrap();
        assert_eq!(planned.len(), 84);
        assert_eq!(planned.iter().filter(|p| p.stop.is_some()).count(), 1);
    }
}

// --- mistakes ------------------------------------------------------------------------------

#[tokio::test]
async fn every_mistake_is_reported_with_line_and_path_and_nothing_is_applied() {
    let text = std::fs::read_to_string(fixture("mistakes.json")).unwrap();
    let problems = parse_import(&text).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let expected: &[(usize, &str, &str)] = &[
        (3, "cities[0].code", "6-digit"),
        (5, "cities[2].name", "cannot be told apart"),
        (10, "lines[0].id", "not an id"),
        (12, "lines[0].fromTimeType", "1 (fixed time) or 4"),
        (13, "lines[0].preSellDay", "whole number"),
        (15, "lines[0].seats", "between 1 and"),
        (16, "lines[0].backDays", "between 0 and 2"),
        (17, "lines[0].colour", "unknown field"),
        (19, "lines[0].refundRules[0]", "start at minHours 0"),
        (20, "lines[0].refundRules[1]", "gap"),
        (20, "lines[0].refundRules[1]", "feePercent is required"),
        (21, "lines[0].refundRules[2]", "must be open"),
        (25, "lines[0].stations[0].cityCode", "not declared"),
        (26, "lines[0].stations[0].longitude", "more than 6 decimals"),
        (26, "lines[0].stations[0].latitude", "out of range"),
        (31, "lines[0].stations[2].offsetMinutes", "earlier than"),
        (40, "lines[1].stations[0].geofence", "cross"),
        (44, "lines[1].stations[2].stationCode", "already used"),
        (49, "lines[1].timetable[0].to", "before from"),
        (50, "lines[1].timetable[1].times[0]", "fromTimeType 4"),
        (50, "lines[1].timetable[1].times[1]", "begin before end"),
        (53, "lines[1].departures[0]", "needs a date and a time"),
        (54, "lines[1].departures[1].stopped", "reason as a string"),
        (55, "lines[1].departures[2].date", "not a date"),
        (56, "lines[1].departures[3].seats", "duplicate key"),
        (69, "lines[2].segmentPrices[0]", "must come after"),
        (70, "lines[2].segmentPrices[1].fromStationCode", "not a station"),
        (71, "lines[2].segmentPrices[2].price", "no fraction"),
    ];
    for (line, path, fragment) in expected {
        assert!(
            problems.iter().any(|p| p.line == Some(*line) && p.path == *path && p.message.contains(fragment)),
            "missing: line {line}: {path}: …{fragment}…\ngot:\n{}",
            shown.join("\n")
        );
    }
    assert_eq!(problems.len(), expected.len(), "unexpected extra problems:\n{}", shown.join("\n"));

    // A syntax error is reported with its position.
    let broken = parse_import("{\n  \"cities\": [\n    {\"code\": \"310100\",}\n  ]\n}").unwrap_err();
    assert_eq!(broken.len(), 1);
    assert_eq!((broken[0].line, broken[0].message.as_str()), (Some(3), "column 23: expected a member name in double quotes"));
    // An editor's byte-order mark is not an error; nesting past 64 levels is, with its path.
    assert!(parse_import("\u{feff}{\"cities\": []}").unwrap_err().iter().all(|p| p.path != "(file)"));
    let deep = parse_import(&format!("{{\"lines\": {}{}}}", "[".repeat(70), "]".repeat(70))).unwrap_err();
    assert_eq!((deep[0].path.as_str(), deep[0].message.as_str()), (format!("lines{}", "[0]".repeat(63)).as_str(), "nested deeper than 64 levels"));
}

#[tokio::test]
async fn store_dependent_mistakes_reject_the_whole_import() {
    let store = Counting::new(MemoryStore::new());
    let mut file = demo_catalogue(date(FIXTURE_TODAY));
    let extra = DepartureEntry {
        schedule_id: Some("RT-EXTRA".into()),
        date: Some(date("2025-03-06")),
        time: Some(DepartureTime::parse("12:00").unwrap()),
        ..Default::default()
    };
    file.lines[2].departures.push(extra);
    import(&store, &file, "2025-03-03 06:00:00").await;
    let taken = "AIRPORT-EXP-20250304-0630".to_string();
    store.transact(vec![Write::Count { key: seats_key(&taken), delta: -30, floor: Some(0) }]).await.unwrap();

    // 1. Capacity below the seats sold; 2. a scheduleId of another line; plus a harmless change.
    file.lines[0].departures.push(DepartureEntry { schedule_id: Some(taken.clone()), seats: Some(20), ..Default::default() });
    file.lines[2].departures.pop();
    file.lines[1].departures.push(DepartureEntry {
        schedule_id: Some("RT-EXTRA".into()),
        date: Some(date("2025-03-06")),
        time: Some(DepartureTime::parse("10:00-12:00").unwrap()),
        ..Default::default()
    });
    file.lines[3].line.name = "杭州-上海(改)".into();
    store.calls.reset();
    let err = apply_import(&store, &file, at("2025-03-03 07:00:00"), &opts(), &|_, _| {}).await.unwrap_err();
    let ImportError::Rejected(problems) = err else { panic!("{err:?}") };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].path == "lines[0].departures[0]" && problems[0].message.contains("fewer than the 30"), "{problems:?}");
    assert!(problems[1].path == "lines[1].departures[0]" && problems[1].message.contains("belongs to line SH-HZ-RT"), "{problems:?}");
    assert_eq!(store.calls.transactions.load(SeqCst), 0, "nothing written");
}

// --- idempotency and stable ids ------------------------------------------------------------

#[tokio::test]
async fn reimport_writes_nothing_and_keeps_schedule_ids() {
    let store = Counting::new(MemoryStore::new());
    let file = parse_import(&std::fs::read_to_string(fixture("demo.json")).unwrap()).unwrap();
    let seen = Mutex::new(Vec::new());
    let first = apply_import(&store, &file, at("2025-03-03 06:00:00"), &opts(), &|d, t| seen.lock().unwrap().push((d, t))).await.unwrap();
    assert_eq!((first.created, first.changed, first.unchanged, first.stops), (84, 0, 0, 1));
    assert_eq!((first.cities_written, first.lines_written), (3, 4));
    // Every departure announced: 4 city pairs × 7 dates.
    assert_eq!(first.callback_ids.len(), 28);
    assert!(first.transactions > 1);
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.last(), Some(&(168, 168)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));

    let ids_before = store.inner.query_index("LDEP#AIRPORT-EXP#2025-03", "D#").await.unwrap();
    store.calls.reset();
    let again = import(&store, &file, "2025-03-03 06:05:00").await;
    assert!(again.is_noop(), "{again}");
    assert_eq!((again.unchanged, again.created, again.changed), (84, 0, 0));
    assert_eq!(store.calls.transactions.load(SeqCst), 0);
    assert!(again.callback_ids.is_empty());
    assert_eq!(store.inner.query_index("LDEP#AIRPORT-EXP#2025-03", "D#").await.unwrap(), ids_before);

    // The same file parsed again from its text yields the same ids; departed ones are skipped.
    let later = import(&store, &file, "2025-03-04 12:00:00").await;
    assert!(later.is_noop());
    assert!(later.skipped_departed > 0);
    assert!(load_departure(&store, "AIRPORT-EXP-20250303-0630").await.unwrap().is_some());
}

#[tokio::test]
async fn moving_a_departure_keeps_its_id_and_seats_and_notifies_both_dates() {
    let store = MemoryStore::new();
    let mut file = demo_catalogue(date("2025-03-27"));
    import(&store, &file, "2025-03-27 06:00:00").await;
    let id = "SH-HZ-RT-20250331-1700".to_string();
    store.transact(vec![Write::Count { key: seats_key(&id), delta: -4, floor: Some(0) }]).await.unwrap();
    let before = pending_notifies(&store).await.len();

    // Move it to the next day (another month), 30 minutes later, with 2 more seats.
    file.lines[2].departures.push(DepartureEntry {
        schedule_id: Some(id.clone()),
        date: Some(date("2025-04-01")),
        time: Some(DepartureTime::parse("17:30").unwrap()),
        seats: Some(52),
        ..Default::default()
    });
    let r = import(&store, &file, "2025-03-27 09:00:00").await;
    assert_eq!((r.changed, r.time_changes, r.seat_changes, r.created), (1, 1, 1, 0));
    let (dep, left) = load_departure(&store, &id).await.unwrap().unwrap();
    assert_eq!((dep.from_date, dep.time.to_string(), dep.seats, left), (date("2025-04-01"), "17:30".to_string(), 52, 48));
    assert_eq!(dep.seats_date, date("2025-03-31"));
    let notes = pending_notifies(&store).await;
    assert_eq!(notes.len() - before, 2);
    assert!(notes.contains(&notify("上海市", "杭州市", "2025-03-31")));
    assert!(notes.contains(&notify("上海市", "杭州市", "2025-04-01")));
    // The change is recorded.
    let changes = list_changes(&store, &id).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert!(
        matches!(&changes[1].changes[..], [Change::Time { before, after }, Change::Seats { before: 50, after: 52 }] if before == "2025-03-31 17:00" && after == "2025-04-01 17:30")
    );
    // The lines query finds it in April with its live counter from March.
    let q = LinesQuery { from_city: "上海".into(), to_city: Some("杭州".into()), from_date: Some(date("2025-04-01")), line_id: None };
    let list = list_departures(&store, &q, at("2025-03-27 09:00:00")).await.unwrap();
    let moved = list.iter().find(|l| l.departure.schedule_id == id).unwrap();
    assert_eq!(moved.left_ticket_cnt, 48);
    // Re-importing the same file changes nothing more.
    assert!(import(&store, &file, "2025-03-27 09:10:00").await.is_noop());
}

// --- price change and coalesced notifications ----------------------------------------------

#[tokio::test]
async fn a_price_change_queues_exactly_the_coalesced_notifies() {
    let store = MemoryStore::new();
    let mut file = demo_catalogue(date(FIXTURE_TODAY));
    import(&store, &file, "2025-03-03 06:00:00").await;
    let initial = pending_notifies(&store).await.len();
    assert_eq!(initial, 28);

    // 10:00: the RMGC→PVG2 fare goes up. Every future airport departure changes; Fliggy gets
    // one notify per (上海市, 上海市, date): 7 dates, one call each however many departures.
    file.lines[0].line.segment_prices[1].price = 3200;
    let r = import(&store, &file, "2025-03-03 10:00:00").await;
    assert_eq!(r.price_changes, 42 - 2, "today's 06:30 and 08:30 have left and stay as they were");
    assert_eq!(r.callback_ids.len(), 7);
    let notes = pending_notifies(&store).await;
    let mut new: Vec<String> = notes[initial..].to_vec();
    new.sort();
    let want: Vec<String> = (3..=9).map(|d| notify("上海市", "上海市", &format!("2025-03-{d:02}"))).collect();
    assert_eq!(new, want);

    // 10:00:30: another change of the same keys within notify_coalesce_secs, before any
    // attempt: covered by the pending calls, nothing new queued.
    file.lines[0].line.segment_prices[1].price = 3300;
    let r = import(&store, &file, "2025-03-03 10:00:30").await;
    assert_eq!(r.callback_ids.len(), 0);
    assert_eq!(r.notifications_coalesced, 7);
    assert_eq!(pending_notifies(&store).await.len(), initial + 7);

    // A seat (capacity) change is live, not announced.
    file.lines[0].seats = 49;
    let r = import(&store, &file, "2025-03-03 10:05:00").await;
    assert_eq!((r.seat_changes, r.callback_ids.len(), r.notifications_coalesced), (40, 0, 0));

    // 10:10: outside the window: new calls.
    file.lines[0].line.segment_prices[1].price = 3000;
    let r = import(&store, &file, "2025-03-03 10:10:00").await;
    assert_eq!(r.callback_ids.len(), 7);
    let recorded = list_changes_on(&store, date(FIXTURE_TODAY)).await.unwrap();
    assert!(recorded.iter().filter(|c| c.changes.iter().any(|x| matches!(x, Change::Price { .. }))).count() >= 3 * 40);
}

// --- stop and resume -----------------------------------------------------------------------

#[tokio::test]
async fn stop_in_back_office_survives_reimport_and_resume_via_file() {
    let store = MemoryStore::new();
    let mut file = demo_catalogue(date(FIXTURE_TODAY));
    import(&store, &file, "2025-03-03 06:00:00").await;
    let id = "AIRPORT-EXP-20250306-1330".to_string();
    let now = at("2025-03-04 08:00:00");
    let out = stop_departure(&store, &id, "道路施工", now, &opts()).await.unwrap();
    let StopOutcome::Changed { callback_ids } = out else { panic!("{out:?}") };
    assert_eq!(callback_ids.len(), 1);
    assert_eq!(stop_departure(&store, &id, "道路施工", now, &opts()).await.unwrap(), StopOutcome::Unchanged);
    assert!(matches!(stop_departure(&store, "NOPE", "x", now, &opts()).await, Err(import::StopError::UnknownSchedule)));

    let (dep, _) = load_departure(&store, &id).await.unwrap().unwrap();
    assert_eq!(dep.stop.as_ref().unwrap().reason, "道路施工");
    assert_eq!(dep.stop.as_ref().unwrap().at, now);
    let stopped = list_stopped(&store, &StoppedQuery::default(), now).await.unwrap();
    assert_eq!(
        stopped.iter().map(|d| d.schedule_id.as_str()).collect::<Vec<_>>(),
        vec![demo_stopped_schedule_id(date(FIXTURE_TODAY)).as_str(), id.as_str()]
    );
    let q = LinesQuery { from_city: "上海".into(), to_city: None, from_date: Some(date("2025-03-06")), line_id: Some(DEMO_AIRPORT_LINE.into()) };
    assert_eq!(list_departures(&store, &q, now).await.unwrap().len(), 5);

    // The file does not mention the stop: re-importing it keeps the departure stopped.
    assert!(import(&store, &file, "2025-03-04 09:00:00").await.is_noop());
    assert!(load_departure(&store, &id).await.unwrap().unwrap().0.is_stopped());

    // The file resumes it.
    file.lines[0].departures.push(DepartureEntry { schedule_id: Some(id.clone()), resume: true, ..Default::default() });
    let r = import(&store, &file, "2025-03-04 10:00:00").await;
    assert_eq!((r.resumes, r.changed, r.callback_ids.len()), (1, 1, 1));
    assert_eq!(list_departures(&store, &q, now).await.unwrap().len(), 6);
    assert!(import(&store, &file, "2025-03-04 10:01:00").await.is_noop());

    // Resume of the demo's stopped departure from the back office.
    let demo_stopped = demo_stopped_schedule_id(date(FIXTURE_TODAY));
    assert!(matches!(resume_departure(&store, &demo_stopped, now, &opts()).await.unwrap(), StopOutcome::Changed { .. }));
    assert!(list_stopped(&store, &StoppedQuery::default(), now).await.unwrap().is_empty());
    let changes = list_changes(&store, &demo_stopped).await.unwrap();
    assert!(matches!(changes.last().unwrap().changes[..], [Change::Resumed]));
    assert_eq!(changes.last().unwrap().source, "back office");
    let _ = DEMO_ROUND_TRIP_LINE;
}

#[tokio::test]
async fn an_extra_departure_with_its_own_id_and_a_stop_in_the_file() {
    let store = MemoryStore::new();
    let mut file = demo_catalogue(date(FIXTURE_TODAY));
    file.lines[0].departures.push(DepartureEntry {
        schedule_id: Some("AP-EXTRA-1".into()),
        date: Some(date("2025-03-08")),
        time: Some(DepartureTime::parse("05:50").unwrap()),
        seats: Some(20),
        ..Default::default()
    });
    let r = import(&store, &file, "2025-03-03 06:00:00").await;
    assert_eq!(r.created, 85);
    assert_eq!(load_departure(&store, "AP-EXTRA-1").await.unwrap().unwrap().1, 20);
    // Stop it from the file: recorded with the import's time; the reason can be corrected
    // later without moving the stop time.
    file.lines[0].departures[0].stopped = Some("包车".into());
    let r = import(&store, &file, "2025-03-03 07:00:00").await;
    assert_eq!((r.stops, r.callback_ids.len()), (1, 1));
    file.lines[0].departures[0].stopped = Some("包车专用".into());
    let r = import(&store, &file, "2025-03-03 08:00:00").await;
    assert_eq!((r.changed, r.callback_ids.len()), (1, 0));
    let stop = load_departure(&store, "AP-EXTRA-1").await.unwrap().unwrap().0.stop.clone().unwrap();
    assert_eq!((stop.reason.as_str(), stop.at), ("包车专用", at("2025-03-03 07:00:00")));
    let _ = Duration::zero();
}

// --- a hand-written file -------------------------------------------------------------------

const HAND_WRITTEN: &str = r#"{
  "operator": "示例客运",
  "cities": [
    {"code": "310100", "name": "上海市", "province": "上海市"},
    {"code": "120100", "name": "天津市", "province": "天津市"}
  ],
  "refundRuleSets": {
    "standard": [
      {"minHours": 0, "maxHours": 3, "refundable": false},
      {"minHours": 3, "refundable": true, "feePercent": 10}
    ]
  },
  "lines": [{
    "comment": "weekday mornings, plus one extra run",
    "id": "L1", "name": "上海-天津", "fromTimeType": 1, "preSellDay": 7, "presellTime": 30, "seats": 40,
    "refundRules": "standard", "backDays": 2,
    "stations": [
      {"stationCode": "SH01", "stationName": "人民广场", "cityCode": "310100", "stationType": 1,
       "longitude": 121.475190, "latitude": "31.228833", "boarding": true, "alighting": false, "offsetMinutes": 0},
      {"stationCode": "SH02", "stationName": "虹桥接送区", "cityCode": "310100", "stationType": 2, "stationFeature": "机场专线",
       "geofence": [{"longitude": "121.30", "latitude": "31.20"}, {"longitude": "121.34", "latitude": "31.20"}, {"longitude": "121.34", "latitude": "31.17"}],
       "boarding": true, "alighting": false, "offsetMinutes": 40},
      {"stationCode": "TJ01", "stationName": "天津站", "cityCode": "120100", "cityName": "天津市", "stationType": 1,
       "longitude": "117.210813", "latitude": "39.136574", "boarding": false, "alighting": true, "offsetMinutes": 600}
    ],
    "segmentPrices": [
      {"fromStationCode": "SH01", "toStationCode": "TJ01", "price": 2000, "childPrice": 1000},
      {"fromStationCode": "SH02", "toStationCode": "TJ01", "price": 1800}
    ],
    "transferPoints": [{"name": "济南西服务区"}],
    "timetable": [{"from": "2025-03-03", "to": "2025-03-16", "weekdays": [1, 3, 5], "times": ["10:00"], "seats": 30}],
    "departures": [
      {"date": "2025-03-05", "time": "10:00", "seats": 45},
      {"scheduleId": "S72", "date": "2025-03-08", "time": "16:00"}
    ]
  }]
}"#;

#[test]
fn a_hand_written_file_with_rule_sets_weekdays_and_extra_runs() {
    let file = parse_import(HAND_WRITTEN).unwrap_or_else(|p| panic!("{p:?}"));
    let line = &file.lines[0].line;
    assert_eq!(line.refund_rules.len(), 2);
    assert_eq!(line.back_days, Some(2));
    assert_eq!(line.stations[0].longitude.unwrap().to_string(), "121.475190");
    assert_eq!(line.stations[1].geofence[0].longitude.to_string(), "121.30");
    assert_eq!(line.stations[2].city_name, "天津市");
    let planned = file.planned_departures().unwrap();
    let got: Vec<(&str, String, u32)> = planned.iter().map(|p| (p.schedule_id.as_str(), p.date.to_string(), p.seats)).collect();
    assert_eq!(
        got,
        vec![
            ("L1-20250303-1000", "2025-03-03".to_string(), 30),
            ("L1-20250305-1000", "2025-03-05".to_string(), 45),
            ("L1-20250307-1000", "2025-03-07".to_string(), 30),
            ("L1-20250310-1000", "2025-03-10".to_string(), 30),
            ("L1-20250312-1000", "2025-03-12".to_string(), 30),
            ("L1-20250314-1000", "2025-03-14".to_string(), 30),
            ("S72", "2025-03-08".to_string(), 40),
        ]
    );
    // Written back and read again, it is the same catalogue.
    assert_eq!(parse_import(&file.to_json()).unwrap(), file);

    // An unknown rule set, a duplicated extra run, a too-long generating line id.
    let bad = HAND_WRITTEN.replace(r#""refundRules": "standard""#, r#""refundRules": "strict""#).replace(
        r#"{"scheduleId": "S72", "date": "2025-03-08", "time": "16:00"}"#,
        r#"{"scheduleId": "L1-20250310-1000", "seats": 1}, {"date": "2025-03-10", "time": "10:00"}"#,
    );
    let problems = parse_import(&bad).unwrap_err();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{text:#?}");
    assert!(text[0].contains("lines[0].refundRules: no refund rule set named \"strict\""), "{text:#?}");
    assert!(text[1].contains("lines[0].departures[2]: departure L1-20250310-1000 is already adjusted by lines[0].departures[1]"), "{text:#?}");
    let long = HAND_WRITTEN.replace(r#""id": "L1""#, &format!(r#""id": "{}""#, "L".repeat(51)));
    assert!(parse_import(&long).unwrap_err()[0].message.contains("at most 50 characters"));
}

#[tokio::test]
async fn a_hand_written_file_applies_and_serves_the_spec_example() {
    let store = MemoryStore::new();
    let file = parse_import(HAND_WRITTEN).unwrap();
    let r = import(&store, &file, "2025-03-01 09:00:00").await;
    assert_eq!(r.created, 7);
    // One notify per (上海市, 天津市, date) — both boarding stations are in 上海市.
    assert_eq!(r.callback_ids.len(), 7);
    let answer = seat_query(
        &store,
        &SeatsRequest { schedule_id: "S72".into(), line_id: Some("L1".into()), from_station_code: Some("SH02".into()), ..Default::default() },
        at("2025-03-03 09:00:00"),
    )
    .await
    .unwrap();
    assert_eq!((answer.left_ticket_cnt, answer.ticket_price, answer.start_time.as_str(), answer.sale_status), (40, 1800, "2025-03-08 16:00:00", 1));
    let q = LinesQuery { from_city: "上海".into(), to_city: Some("天津".into()), from_date: None, line_id: None };
    let list = list_departures(&store, &q, at("2025-03-03 09:00:00")).await.unwrap();
    // Sale window: up to 7 days ahead (03-10 opens at 03-03 00:00); 03-12 is not on sale yet.
    let ids: Vec<&str> = list.iter().map(|l| l.departure.schedule_id.as_str()).collect();
    assert_eq!(ids, vec!["L1-20250303-1000", "L1-20250305-1000", "L1-20250307-1000", "S72", "L1-20250310-1000"]);
}

#[test]
fn dates_in_the_file_must_be_exactly_yyyy_mm_dd() {
    let demo = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalogue/demo.json")).unwrap();
    assert!(parse_import(&demo).is_ok());
    for bad in ["+025-03-03", "2025-3-303", "2025/03/03"] {
        let text = demo.replacen("\"from\": \"2025-03-03\"", &format!("\"from\": \"{bad}\""), 1);
        let problems = parse_import(&text).expect_err(bad);
        assert!(problems.iter().any(|p| p.message.contains("is not a date yyyy-MM-dd")), "{bad}: {problems:?}");
    }
}
