//! The read side (§3.1–§3.4, §3.10) on the demo catalogue in a MemoryStore, with the store
//! calls of each request counted.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use busgate_domain::catalogue::demo::{demo_stopped_schedule_id, DEMO_AIRPORT_LINE, DEMO_ROLLING_LINE, DEMO_ROUND_TRIP_LINE};
use busgate_domain::catalogue::model::local_instant;
use busgate_domain::catalogue::*;
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{CallCounter, Counting, Store, Write};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn at(s: &str) -> DateTime<Utc> {
    let (d, t) = s.split_once(' ').unwrap();
    local_instant(date(d), NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap())
}

const TODAY: &str = "2025-03-03";

/// The demo catalogue imported at `today` 06:00 GMT+8, behind a call counter.
async fn demo_store(today: &str) -> (Counting<Arc<MemoryStore>>, Arc<CallCounter>) {
    let mem = Arc::new(MemoryStore::new());
    let report =
        apply_import(&*mem, &demo_catalogue(date(today)), at(&format!("{today} 06:00:00")), &ImportOptions::default(), &|_, _| {}).await.unwrap();
    assert_eq!(report.created, 7 * 12);
    let store = Counting::new(mem);
    let calls = store.calls.clone();
    (store, calls)
}

fn sid(line: &str, d: &str, hhmm: &str) -> String {
    format!("{line}-{}-{}", d.replace('-', ""), hhmm.replace(':', ""))
}

#[tokio::test]
async fn from_cities_lists_boarding_cities_sorted_by_code() {
    let (store, calls) = demo_store(TODAY).await;
    let all = from_cities(&store, None).await.unwrap();
    let codes: Vec<(&str, &str, &str)> = all.iter().map(|c| (c.code.as_str(), c.name.as_str(), c.province.as_str())).collect();
    assert_eq!(codes, vec![("310100", "上海市", "上海市"), ("320500", "苏州市", "江苏省"), ("330100", "杭州市", "浙江省")]);
    assert_eq!(calls.total(), 1);
    for q in ["上海", "上海市", " 上海 "] {
        let one = from_cities(&store, Some(q)).await.unwrap();
        assert_eq!(one.len(), 1, "{q}");
        assert_eq!(one[0].code, "310100");
    }
    assert!(from_cities(&store, Some("北京")).await.unwrap().is_empty());
    assert!(from_cities(&store, Some("上")).await.unwrap().is_empty());
    assert!(from_cities(&MemoryStore::new(), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn to_cities_after_a_boarding_station_with_max_presale() {
    let (store, calls) = demo_store(TODAY).await;
    let sh = to_cities(&store, "上海").await.unwrap();
    let got: Vec<(&str, u32)> = sh.iter().map(|t| (t.city.name.as_str(), t.pre_sell_day)).collect();
    // Sorted by name; 上海市 via the airport express (7 days), 杭州市 via the round trip (10).
    assert_eq!(got, vec![("上海市", 7), ("杭州市", 10)]);
    assert_eq!(sh[1].city.province, "浙江省");
    assert_eq!(calls.total(), 1);
    let sz = to_cities(&store, "苏州市").await.unwrap();
    assert_eq!(sz.iter().map(|t| (t.city.name.as_str(), t.pre_sell_day)).collect::<Vec<_>>(), vec![("上海市", 3)]);
    assert!(to_cities(&store, "天津").await.unwrap().is_empty());
}

#[tokio::test]
async fn lines_lists_on_sale_departures_sorted_with_seats() {
    let (store, calls) = demo_store(TODAY).await;
    let now = at("2025-03-03 07:45:00");
    // Sell 5 seats of one departure, as an order would.
    let sold = sid(DEMO_ROUND_TRIP_LINE, "2025-03-04", "08:00");
    store.transact(vec![Write::Count { key: seats_key(&sold), delta: -5, floor: Some(0) }]).await.unwrap();
    calls.reset();

    let q = LinesQuery { from_city: "上海".into(), to_city: Some("杭州".into()), from_date: None, line_id: None };
    let list = list_departures(&store, &q, now).await.unwrap();
    // 14 departures in the week, less the stopped one, less today's 08:00 (sale closed 07:30).
    assert_eq!(list.len(), 12);
    assert!(list.iter().all(|l| l.departure.line.id == DEMO_ROUND_TRIP_LINE));
    assert!(!list.iter().any(|l| l.departure.schedule_id == demo_stopped_schedule_id(date(TODAY))));
    assert!(list.windows(2).all(|w| w[0].departure.departure_instant() <= w[1].departure.departure_instant()));
    assert_eq!(list[0].departure.schedule_id, sid(DEMO_ROUND_TRIP_LINE, TODAY, "17:00"));
    let seats: Vec<i64> = list.iter().map(|l| l.left_ticket_cnt).collect();
    assert_eq!(list.iter().find(|l| l.departure.schedule_id == sold).unwrap().left_ticket_cnt, 45);
    assert_eq!(seats.iter().filter(|&&s| s == 50).count(), 11);
    // One catalogue query + one index query for the line's month.
    assert_eq!(calls.total(), 2);

    // From 上海 without toCity: the airport express and the round trip, on one date.
    calls.reset();
    let q = LinesQuery { from_city: "上海市".into(), to_city: None, from_date: Some(date("2025-03-05")), line_id: None };
    let list = list_departures(&store, &q, now).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|l| l.departure.schedule_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "AIRPORT-EXP-20250305-0630",
            "AIRPORT-EXP-20250305-0830",
            "AIRPORT-EXP-20250305-1030",
            "AIRPORT-EXP-20250305-1330",
            "AIRPORT-EXP-20250305-1630",
            "SH-HZ-RT-20250305-1700",
            "AIRPORT-EXP-20250305-1930",
        ]
    );
    assert_eq!(calls.total(), 3);

    // lineId filter; a rolling line matched by its area's city; unknown city.
    let q = LinesQuery { from_city: "上海".into(), to_city: None, from_date: Some(date("2025-03-05")), line_id: Some(DEMO_AIRPORT_LINE.into()) };
    assert_eq!(list_departures(&store, &q, now).await.unwrap().len(), 6);
    let q = LinesQuery { from_city: "苏州".into(), to_city: Some("上海".into()), from_date: Some(date("2025-03-04")), line_id: None };
    let rolling = list_departures(&store, &q, now).await.unwrap();
    assert_eq!(rolling.len(), 2);
    assert_eq!(rolling[0].departure.line.id, DEMO_ROLLING_LINE);
    assert_eq!(rolling[0].left_ticket_cnt, 18);
    let q = LinesQuery { from_city: "苏州".into(), to_city: Some("杭州".into()), from_date: None, line_id: None };
    assert!(list_departures(&store, &q, now).await.unwrap().is_empty());
    let q = LinesQuery { from_city: "北京".into(), ..Default::default() };
    assert!(list_departures(&store, &q, now).await.unwrap().is_empty());
    // Rolling line presale is 3 days: on 03-03, 03-07 is not on sale yet.
    let q = LinesQuery { from_city: "苏州".into(), to_city: None, from_date: Some(date("2025-03-07")), line_id: None };
    assert!(list_departures(&store, &q, now).await.unwrap().is_empty());
    assert_eq!(list_departures(&store, &q, at("2025-03-04 00:00:00")).await.unwrap().len(), 2);
}

#[tokio::test]
async fn lines_across_a_month_boundary_reads_two_months() {
    let (store, calls) = demo_store("2025-03-29").await;
    let q = LinesQuery { from_city: "杭州".into(), to_city: None, from_date: None, line_id: None };
    let list = list_departures(&store, &q, at("2025-03-29 06:00:00")).await.unwrap();
    assert_eq!(list.len(), 14);
    assert_eq!(list.last().unwrap().departure.from_date, date("2025-04-04"));
    assert!(list.iter().all(|l| l.left_ticket_cnt == 50));
    // Catalogue + March + April.
    assert_eq!(calls.total(), 3);
}

#[tokio::test]
async fn seat_query_costs_exactly_one_store_call() {
    let (store, calls) = demo_store(TODAY).await;
    let now = at("2025-03-04 09:00:00");
    let id = sid(DEMO_AIRPORT_LINE, "2025-03-05", "08:30");
    store.transact(vec![Write::Count { key: seats_key(&id), delta: -3, floor: Some(0) }]).await.unwrap();

    type Want = Result<(i64, i64, &'static str, u8, bool), &'static str>;
    let cases: Vec<(SeatsRequest, Want)> = vec![
        (SeatsRequest { schedule_id: id.clone(), ..Default::default() }, Ok((42, 3000, "2025-03-05 08:30:00", 1, false))),
        (
            SeatsRequest {
                schedule_id: id.clone(),
                line_id: Some(DEMO_AIRPORT_LINE.into()),
                from_station_code: Some("SHA2".into()),
                to_station_code: Some("PVG2".into()),
                from_date: Some(date("2025-03-05")),
                from_time: Some(NaiveTime::from_hms_opt(8, 30, 0).unwrap()),
            },
            Ok((42, 2500, "2025-03-05 08:30:00", 1, false)),
        ),
        (
            SeatsRequest {
                schedule_id: id.clone(),
                from_date: Some(date("2025-03-05")),
                from_time: Some(NaiveTime::from_hms_opt(8, 0, 0).unwrap()),
                ..Default::default()
            },
            Ok((42, 3000, "2025-03-05 08:30:00", 1, true)),
        ),
        (SeatsRequest { schedule_id: "NOPE".into(), ..Default::default() }, Err("unknown schedule")),
        (SeatsRequest { schedule_id: id.clone(), line_id: Some(DEMO_ROLLING_LINE.into()), ..Default::default() }, Err("unknown schedule")),
        (SeatsRequest { schedule_id: id.clone(), from_station_code: Some("PVG2".into()), ..Default::default() }, Err("segment mismatch")),
        (
            SeatsRequest {
                schedule_id: id.clone(),
                from_station_code: Some("SHA2".into()),
                to_station_code: Some("SHA2".into()),
                ..Default::default()
            },
            Err("segment mismatch"),
        ),
        // The stopped departure: success, saleStatus 0, no seats.
        (SeatsRequest { schedule_id: demo_stopped_schedule_id(date(TODAY)), ..Default::default() }, Ok((0, 8800, "2025-03-05 08:00:00", 0, false))),
        // Today's 08:30 has closed (08:20).
        (SeatsRequest { schedule_id: sid(DEMO_AIRPORT_LINE, TODAY, "08:30"), ..Default::default() }, Ok((0, 3000, "2025-03-03 08:30:00", 0, false))),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        calls.reset();
        let got = seat_query(&store, &req, now).await;
        assert_eq!(calls.queries.load(SeqCst), 1, "case {i}");
        assert_eq!(calls.total(), 1, "case {i}: exactly one store round trip");
        match (got, want) {
            (Ok(a), Ok((left, price, start, status, changed))) => {
                assert_eq!(
                    (a.left_ticket_cnt, a.ticket_price, a.start_time.as_str(), a.sale_status, a.time_changed),
                    (left, price, start, status, changed),
                    "case {i}"
                )
            }
            (Err(e), Err(kind)) => {
                let got = match &e {
                    SeatsError::UnknownSchedule => "unknown schedule",
                    SeatsError::Segment(_) => "segment mismatch",
                    SeatsError::Store(_) => "store",
                };
                assert_eq!(got, kind, "case {i}: {e}")
            }
            (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
        }
    }
}

#[tokio::test]
async fn load_departure_is_one_query_and_sees_live_seats() {
    let (store, calls) = demo_store(TODAY).await;
    let id = sid(DEMO_ROLLING_LINE, "2025-03-04", "07:00");
    calls.reset();
    let (dep, left) = load_departure(&store, &id).await.unwrap().unwrap();
    assert_eq!((calls.total(), calls.queries.load(SeqCst)), (1, 1));
    assert_eq!(left, 18);
    assert_eq!(dep.time.to_string(), "07:00-09:00");
    store.transact(vec![Write::Count { key: seats_key(&id), delta: -18, floor: Some(0) }]).await.unwrap();
    assert!(store.transact(vec![Write::Count { key: seats_key(&id), delta: -1, floor: Some(0) }]).await.is_err());
    assert_eq!(load_departure(&store, &id).await.unwrap().unwrap().1, 0);
    let rec = load_departure_record(&store, &id).await.unwrap().unwrap();
    assert_eq!((rec.version, rec.has_counter), (1, true));
    assert!(load_departure(&store, "NOPE").await.unwrap().is_none());
    assert_eq!(departure_key(&id).pk, seats_key(&id).pk);
}

#[tokio::test]
async fn stopped_schedules_with_filters_until_24h_after_d() {
    let (store, calls) = demo_store(TODAY).await;
    let stopped_id = demo_stopped_schedule_id(date(TODAY));
    let now = at("2025-03-03 12:00:00");
    calls.reset();
    let all = list_stopped(&store, &StoppedQuery::default(), now).await.unwrap();
    assert_eq!(calls.total(), 1);
    assert_eq!(all.len(), 1);
    let d = &all[0];
    assert_eq!(d.schedule_id, stopped_id);
    assert_eq!(d.stop.as_ref().unwrap().reason, "车辆检修");
    assert_eq!((d.from_city_name(), d.to_city_name()), (Some("上海市"), Some("杭州市")));

    let q = |f: fn(&mut StoppedQuery)| {
        let mut q = StoppedQuery::default();
        f(&mut q);
        q
    };
    let hits = [
        (q(|q| q.from_city = Some("上海".into())), 1),
        (q(|q| q.to_city = Some("杭州市".into())), 1),
        (q(|q| q.from_city = Some("杭州".into())), 0),
        (q(|q| q.from_station = Some("上海南站".into())), 1),
        (q(|q| q.from_station = Some("SHNZ".into())), 1),
        (q(|q| q.to_station = Some("SHNZ".into())), 0),
        (q(|q| q.begin = Some(at("2025-03-05 08:00:00"))), 1),
        (q(|q| q.begin = Some(at("2025-03-05 08:00:01"))), 0),
        (q(|q| q.end = Some(at("2025-03-05 08:00:00"))), 0),
        (q(|q| q.end = Some(at("2025-03-05 08:00:01"))), 1),
    ];
    for (i, (query, n)) in hits.iter().enumerate() {
        assert_eq!(list_stopped(&store, query, now).await.unwrap().len(), *n, "case {i}");
    }
    // Listed until 24 h after D.
    let d_instant = at("2025-03-05 08:00:00");
    assert_eq!(list_stopped(&store, &StoppedQuery::default(), d_instant + Duration::hours(24) - Duration::seconds(1)).await.unwrap().len(), 1);
    assert!(list_stopped(&store, &StoppedQuery::default(), d_instant + Duration::hours(24)).await.unwrap().is_empty());
}
