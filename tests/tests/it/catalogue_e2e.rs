//! End to end through local mode's real HTTP server: every catalogue interface (fliggy-bus.md
//! §3.1–§3.4, §3.10) answering signed requests about the demo operator, and every catalogue
//! route refusing malformed, unsigned, stale and oversize requests in the bus envelope
//! without changing anything.
//!
//! What the demo holds is restated here from `busgate_domain::catalogue::demo` (a week of
//! departures from today, GMT+8), and the expected listings are computed independently from
//! the sale-window rule of §2.6.

use busgate_cli::local::DEMO_QIMEN_SECRET as SECRET;
use busgate_domain::catalogue::{self, DepartureEntry, DepartureTime, ImportOptions};
use busgate_domain::gmt8;
use busgate_edge::{BusRoute, Route};
use busgate_tests::{bus_url, call_bus, now_timestamp, post_bytes, start_local, today_gmt8, JSON};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{json, Value};

const SIGN_FAILURE: &str = r#"{"retDesc":"Illegal request","success":"false","retCode":"sign-check-failure"}"#;

// ---------------------------------------------------------------------------------------------
// The demo operator, restated.

struct DemoLine {
    id: &'static str,
    pre_sell_day: i64,
    presell_time: i64,
    /// `HH:mm` or `HH:mm-HH:mm` (rolling).
    times: &'static [&'static str],
}

const AIRPORT: DemoLine =
    DemoLine { id: "AIRPORT-EXP", pre_sell_day: 7, presell_time: 10, times: &["06:30", "08:30", "10:30", "13:30", "16:30", "19:30"] };
const ROLLING: DemoLine = DemoLine { id: "SZ-SHA-FLOW", pre_sell_day: 3, presell_time: 30, times: &["07:00-09:00", "13:00-15:00"] };
const ROUND_TRIP: DemoLine = DemoLine { id: "SH-HZ-RT", pre_sell_day: 10, presell_time: 30, times: &["08:00", "17:00"] };
const RETURN: DemoLine = DemoLine { id: "HZ-SH-RT", pre_sell_day: 10, presell_time: 30, times: &["10:00", "18:30"] };
const ALL_LINES: [&DemoLine; 4] = [&AIRPORT, &ROLLING, &ROUND_TRIP, &RETURN];

fn hm(t: &str) -> NaiveTime {
    NaiveTime::parse_from_str(t, "%H:%M").unwrap()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `<lineId>-<yyyyMMdd>-<HHmm>` of a timetable slot (the catalogue file's documented rule).
fn sid(line: &str, date: NaiveDate, start: &str) -> String {
    format!("{line}-{}-{}", date.format("%Y%m%d"), start.replace(':', ""))
}

fn stopped_id(today: NaiveDate) -> String {
    sid("SH-HZ-RT", today + Duration::days(2), "08:00")
}

/// A departure of the demo, as the test expects it.
#[derive(Debug, Clone)]
struct Dep {
    id: String,
    line: &'static str,
    d: NaiveDateTime,
    pre_sell_day: i64,
    presell_time: i64,
}

impl Dep {
    /// §2.6: now ≥ 00:00 of (fromDate - preSellDay) and now < D - presellTime (not stopped).
    fn on_sale(&self, now: NaiveDateTime) -> bool {
        let opens = (self.d.date() - Duration::days(self.pre_sell_day)).and_time(NaiveTime::MIN);
        now >= opens && now < self.d - Duration::minutes(self.presell_time)
    }
}

/// Every unstopped demo departure of `lines`.
fn demo_departures(today: NaiveDate, lines: &[&'static DemoLine]) -> Vec<Dep> {
    let mut out = Vec::new();
    for line in lines {
        for k in 0..7 {
            let date = today + Duration::days(k);
            for t in line.times {
                let start = t.split('-').next().unwrap();
                let id = sid(line.id, date, start);
                if id == stopped_id(today) {
                    continue;
                }
                out.push(Dep { id, line: line.id, d: date.and_time(hm(start)), pre_sell_day: line.pre_sell_day, presell_time: line.presell_time });
            }
        }
    }
    out
}

/// The ids a lines query must list at `now`: on sale, filtered, sorted by D then scheduleId.
fn expected_ids(deps: &[Dep], now: NaiveDateTime, keep: &dyn Fn(&Dep) -> bool) -> Vec<String> {
    let mut v: Vec<&Dep> = deps.iter().filter(|d| d.on_sale(now) && keep(d)).collect();
    v.sort_by(|a, b| (a.d, &a.id).cmp(&(b.d, &b.id)));
    v.into_iter().map(|d| d.id.clone()).collect()
}

fn now_local() -> NaiveDateTime {
    Utc::now().with_timezone(&gmt8()).naive_local()
}

// ---------------------------------------------------------------------------------------------
// Calls and checks.

async fn call(base: &str, route: Route, body: Value) -> Value {
    let (status, v) = call_bus(base, route, &body, SECRET).await;
    assert_eq!(status, 200, "{v}");
    v
}

#[track_caller]
fn assert_ok(v: &Value) {
    assert_eq!(v["retCode"], "0", "{v}");
    assert_eq!(v["retDesc"], "成功", "{v}");
    assert_eq!(v["success"], true, "{v}");
}

/// A refusal in the bus envelope: exactly `retCode`, `retDesc`, `success:false`. Returns the desc.
#[track_caller]
fn assert_refused<'a>(v: &'a Value, code: &str) -> &'a str {
    assert_eq!(v["retCode"], code, "{v}");
    assert_eq!(v["success"], false, "{v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "a refusal carries no data fields: {v}");
    v["retDesc"].as_str().unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["lineSchedule"]
        .as_array()
        .unwrap_or_else(|| panic!("no lineSchedule: {v}"))
        .iter()
        .map(|e| e["scheduleId"].as_str().unwrap().to_string())
        .collect()
}

/// A lines query whose answer must list exactly the expected ids (computed at the instants
/// just before and just after the request, so a sale closing meanwhile cannot flake it).
async fn assert_listing(base: &str, body: Value, deps: &[Dep], keep: &dyn Fn(&Dep) -> bool) -> Value {
    let before = now_local();
    let v = call(base, Route::Bus(BusRoute::Lines), body.clone()).await;
    let after = now_local();
    assert_ok(&v);
    let got = ids(&v);
    let (e1, e2) = (expected_ids(deps, before, keep), expected_ids(deps, after, keep));
    assert!(got == e1 || got == e2, "lines {body}:\n got      {got:?}\n expected {e1:?}");
    v
}

fn element<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["lineSchedule"].as_array().unwrap().iter().find(|e| e["scheduleId"] == id).unwrap_or_else(|| panic!("{id} not listed: {v}"))
}

fn demo_refund_rules() -> Value {
    json!([
        {"minHours": 0, "maxHours": 3, "refundable": false},
        {"minHours": 3, "maxHours": 6, "refundable": true, "feePercent": 25},
        {"minHours": 6, "maxHours": 24, "refundable": true, "feePercent": 10},
        {"minHours": 24, "maxHours": 48, "refundable": true, "feePercent": 5},
        {"minHours": 48, "refundable": true, "feePercent": 0}
    ])
}

// ---------------------------------------------------------------------------------------------
// §3.1, §3.2

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departure_and_arrival_cities_of_the_demo_operator() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let sh = json!({"provinceName": "上海市", "fromCity": "上海市", "cityCode": "310100"});
    let sz = json!({"provinceName": "江苏省", "fromCity": "苏州市", "cityCode": "320500"});
    let hz = json!({"provinceName": "浙江省", "fromCity": "杭州市", "cityCode": "330100"});

    // All: every city with a boarding station on an enabled line, sorted by cityCode.
    for body in [json!({}), json!({"fromCity": ""}), json!({"fromCity": null})] {
        let v = call(&base, Route::Bus(BusRoute::FromCities), body).await;
        assert_ok(&v);
        assert_eq!(v["fromCityList"], json!([sh, sz, hz]), "{v}");
    }
    // The city match: with or without the trailing 市, surrounding blanks ignored.
    for q in ["上海", "上海市", " 上海 "] {
        let v = call(&base, Route::Bus(BusRoute::FromCities), json!({"fromCity": q})).await;
        assert_ok(&v);
        assert_eq!(v["fromCityList"], json!([sh]), "{q}: {v}");
    }
    let v = call(&base, Route::Bus(BusRoute::FromCities), json!({"fromCity": "苏州"})).await;
    assert_eq!(v["fromCityList"], json!([sz]), "{v}");
    for q in ["北京", "上", "海市", "上海市市"] {
        let v = call(&base, Route::Bus(BusRoute::FromCities), json!({"fromCity": q})).await;
        assert_ok(&v);
        assert_eq!(v["fromCityList"], json!([]), "{q}: {v}");
    }
    let v = call(&base, Route::Bus(BusRoute::FromCities), json!({"fromCity": 7})).await;
    assert!(assert_refused(&v, "invalid-parameter").contains("fromCity"), "{v}");

    // Arrival cities, sorted by name, with the longest presale period of the lines serving
    // the pair: 上海市 (the airport express, 7 days) and 杭州市 (the round trip, 10 days).
    let from_sh = json!([
        {"provinceName": "上海市", "toCity": "上海市", "preSellDay": 7},
        {"provinceName": "浙江省", "toCity": "杭州市", "preSellDay": 10}
    ]);
    for q in ["上海市", "上海"] {
        let v = call(&base, Route::Bus(BusRoute::ToCities), json!({"fromCity": q})).await;
        assert_ok(&v);
        assert_eq!(v["toCityList"], from_sh, "{q}: {v}");
    }
    let v = call(&base, Route::Bus(BusRoute::ToCities), json!({"fromCity": "苏州市"})).await;
    assert_eq!(v["toCityList"], json!([{"provinceName": "上海市", "toCity": "上海市", "preSellDay": 3}]), "{v}");
    let v = call(&base, Route::Bus(BusRoute::ToCities), json!({"fromCity": "杭州"})).await;
    assert_eq!(v["toCityList"], json!([{"provinceName": "上海市", "toCity": "上海市", "preSellDay": 10}]), "{v}");
    // An unknown city: an empty list, not an error.
    for q in ["北京市", "天津"] {
        let v = call(&base, Route::Bus(BusRoute::ToCities), json!({"fromCity": q})).await;
        assert_ok(&v);
        assert_eq!(v["toCityList"], json!([]), "{v}");
    }
    // fromCity is required.
    for body in [json!({}), json!({"fromCity": ""}), json!({"fromCity": "   "}), json!({"fromCity": null}), json!({"toCity": "上海市"})] {
        let v = call(&base, Route::Bus(BusRoute::ToCities), body.clone()).await;
        assert!(assert_refused(&v, "invalid-parameter").contains("fromCity"), "{body}: {v}");
    }
    local.stop();
}

// ---------------------------------------------------------------------------------------------
// §3.3

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_list_on_sale_departures_sorted_and_filtered() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let today = today_gmt8();
    let deps = demo_departures(today, &ALL_LINES);
    let from_sh = |d: &Dep| d.line == AIRPORT.id || d.line == ROUND_TRIP.id;
    let stopped = stopped_id(today);

    // Every on-sale departure from 上海: the airport express and the round trip, by D then id.
    let all = assert_listing(&base, json!({"fromCity": "上海"}), &deps, &from_sh).await;
    assert!(ids(&all).len() >= 47, "at least six full days of departures: {:?}", ids(&all));
    assert_listing(&base, json!({"fromCity": "上海市"}), &deps, &from_sh).await;
    // toCity: only lines alighting there after a boarding station in fromCity.
    for to in ["杭州", "杭州市"] {
        assert_listing(&base, json!({"fromCity": "上海", "toCity": to}), &deps, &|d| d.line == ROUND_TRIP.id).await;
    }
    assert_listing(&base, json!({"fromCity": "上海市", "toCity": "上海市"}), &deps, &|d| d.line == AIRPORT.id).await;
    for (from, to) in [("上海", "苏州"), ("北京", "上海"), ("上海", "北京")] {
        let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": from, "toCity": to})).await;
        assert_ok(&v);
        assert_eq!(v["lineSchedule"], json!([]), "{from}->{to}: {v}");
    }
    // fromDate: that date only.
    for k in [1, 2, 3, 6] {
        let date = today + Duration::days(k);
        assert_listing(&base, json!({"fromCity": "上海", "fromDate": ymd(date)}), &deps, &|d| from_sh(d) && d.d.date() == date).await;
    }
    // lineId: that line only (and nothing when the line does not board in fromCity).
    assert_listing(&base, json!({"fromCity": "上海", "lineId": "AIRPORT-EXP"}), &deps, &|d| d.line == AIRPORT.id).await;
    let date = today + Duration::days(2);
    let v = assert_listing(&base, json!({"fromCity": "上海", "lineId": "SH-HZ-RT", "fromDate": ymd(date)}), &deps, &|d| {
        d.line == ROUND_TRIP.id && d.d.date() == date
    })
    .await;
    // The stopped departure is never listed, whatever the filters.
    assert_eq!(ids(&v), vec![sid("SH-HZ-RT", date, "17:00")]);
    assert!(!ids(&all).contains(&stopped));
    // The rolling line: presale 3 days, so only today..today+3 are on sale.
    let v = assert_listing(&base, json!({"fromCity": "苏州"}), &deps, &|d| d.line == ROLLING.id).await;
    assert!(ids(&v).iter().all(|id| id.as_str() <= sid(ROLLING.id, today + Duration::days(3), "13:00").as_str()), "{v}");
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "苏州", "fromDate": ymd(today + Duration::days(5))})).await;
    assert_eq!(v["lineSchedule"], json!([]), "not yet on sale: {v}");
    // A date outside the week, and a line that does not exist.
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "fromDate": ymd(today + Duration::days(30))})).await;
    assert_eq!(v["lineSchedule"], json!([]), "{v}");
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "lineId": "NO-SUCH-LINE"})).await;
    assert_eq!(v["lineSchedule"], json!([]), "{v}");

    // One element of each line, field by field.
    let d1 = today + Duration::days(1);
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海市", "fromDate": ymd(d1)})).await;
    let airport = element(&v, &sid("AIRPORT-EXP", d1, "08:30"));
    assert_eq!(
        *airport,
        json!({
            "scheduleId": sid("AIRPORT-EXP", d1, "08:30"),
            "line": {"id": "AIRPORT-EXP", "name": "人民广场-虹桥机场-浦东机场", "desc": "机场快线,途经虹桥机场,直达浦东机场",
                     "fromTimeType": 1, "fromDate": ymd(d1), "fromTime": "08:30"},
            "preSellDay": 7,
            "presellTime": 10,
            "leftTicketCnt": 45,
            "stations": [
                {"seq": 1, "stationCode": "RMGC", "stationName": "人民广场", "cityCode": "310100", "cityName": "上海市",
                 "stationAddress": "上海市黄浦区人民大道120号", "stationType": 1, "longitude": "121.475190", "latitude": "31.228833",
                 "stationFeature": "机场专线", "boarding": true, "alighting": false, "offsetMinutes": 0},
                {"seq": 2, "stationCode": "SHA2", "stationName": "虹桥机场T2", "cityCode": "310100", "cityName": "上海市",
                 "stationType": 1, "longitude": "121.327000", "latitude": "31.194000",
                 "stationFeature": "机场专线", "boarding": true, "alighting": true, "offsetMinutes": 40},
                {"seq": 3, "stationCode": "PVG2", "stationName": "浦东机场T2", "cityCode": "310100", "cityName": "上海市",
                 "stationType": 1, "longitude": "121.805000", "latitude": "31.151000",
                 "stationFeature": "机场专线", "boarding": false, "alighting": true, "offsetMinutes": 100}
            ],
            "segmentPrices": [
                {"fromStationCode": "RMGC", "toStationCode": "SHA2", "price": 1500, "childPrice": 750},
                {"fromStationCode": "RMGC", "toStationCode": "PVG2", "price": 3000, "childPrice": 1500},
                {"fromStationCode": "SHA2", "toStationCode": "PVG2", "price": 2500}
            ],
            "isOrderRefund": false,
            "refundRules": demo_refund_rules()
        }),
        "{airport}"
    );
    let rt = element(&v, &sid("SH-HZ-RT", d1, "08:00"));
    assert_eq!(
        *rt,
        json!({
            "scheduleId": sid("SH-HZ-RT", d1, "08:00"),
            "line": {"id": "SH-HZ-RT", "name": "上海-杭州", "desc": "往返线路,回程次日发车", "fromTimeType": 1, "fromDate": ymd(d1), "fromTime": "08:00"},
            "preSellDay": 10,
            "presellTime": 30,
            "leftTicketCnt": 50,
            "stations": [
                {"seq": 1, "stationCode": "SHNZ", "stationName": "上海南站", "cityCode": "310100", "cityName": "上海市", "stationType": 1,
                 "longitude": "121.429580", "latitude": "31.154770", "boarding": true, "alighting": false, "offsetMinutes": 0},
                {"seq": 2, "stationCode": "HZDZ", "stationName": "杭州东站", "cityCode": "330100", "cityName": "杭州市", "stationType": 1,
                 "longitude": "120.212600", "latitude": "30.290800", "boarding": false, "alighting": true, "offsetMinutes": 150}
            ],
            "segmentPrices": [{"fromStationCode": "SHNZ", "toStationCode": "HZDZ", "price": 8800, "childPrice": 4400}],
            "transferPoints": [{"name": "嘉兴服务区", "desc": "停靠15分钟"}],
            "isOrderRefund": true,
            "refundRules": demo_refund_rules(),
            "backDays": 1
        }),
        "{rt}"
    );
    // The rolling line: type 4, a window, an area station with its geofence (no point).
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "苏州市", "toCity": "上海", "fromDate": ymd(d1)})).await;
    assert_eq!(ids(&v), vec![sid("SZ-SHA-FLOW", d1, "07:00"), sid("SZ-SHA-FLOW", d1, "13:00")]);
    let rolling = element(&v, &sid("SZ-SHA-FLOW", d1, "13:00"));
    assert_eq!(
        rolling["line"],
        json!({"id": "SZ-SHA-FLOW", "name": "苏州工业园区-上海虹桥站", "desc": "流水班,园区内上门接,满员即走", "fromTimeType": 4,
               "fromDate": ymd(d1), "fromTime": "13:00", "fromDurationBegin": "13:00", "fromDurationEnd": "15:00"})
    );
    assert_eq!(
        rolling["stations"][0],
        json!({"seq": 1, "stationCode": "SZYQ", "stationName": "苏州工业园区接送区", "cityCode": "320500", "cityName": "苏州市", "stationType": 2,
               "geofence": [
                   {"longitude": "120.670000", "latitude": "31.330000"}, {"longitude": "120.760000", "latitude": "31.340000"},
                   {"longitude": "120.780000", "latitude": "31.290000"}, {"longitude": "120.720000", "latitude": "31.250000"},
                   {"longitude": "120.660000", "latitude": "31.280000"}],
               "stationFeature": "上门接送", "boarding": true, "alighting": false, "offsetMinutes": 0})
    );
    assert_eq!(rolling["stations"][1]["stationType"], 1);
    assert_eq!(rolling["segmentPrices"], json!([{"fromStationCode": "SZYQ", "toStationCode": "SHHQ", "price": 6800, "childPrice": 3400}]));
    assert_eq!((rolling["preSellDay"].as_u64(), rolling["presellTime"].as_u64(), rolling["leftTicketCnt"].as_u64()), (Some(3), Some(30), Some(18)));
    assert_eq!(rolling["refundRules"], demo_refund_rules());
    assert!(rolling.get("backDays").is_none() && rolling.get("transferPoints").is_none(), "{rolling}");

    // Refusals: fromCity required, fromDate a real yyyy-MM-dd date, lineId an id.
    for (body, field) in [
        (json!({}), "fromCity"),
        (json!({"fromCity": " "}), "fromCity"),
        (json!({"toCity": "杭州"}), "fromCity"),
        (json!({"fromCity": "上海", "fromDate": "2026-13-01"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": "2026-02-30"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": "tomorrow"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": "2026/11/05"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": "2026-1-05"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": "2026-01-5"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": format!("+{}", ymd(d1))}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": format!("0{}", ymd(d1))}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": ymd(d1) + " 08:00:00"}), "fromDate"),
        (json!({"fromCity": "上海", "fromDate": 20261105}), "fromDate"),
        (json!({"fromCity": "上海", "lineId": "AIRPORT EXP"}), "lineId"),
    ] {
        let v = call(&base, Route::Bus(BusRoute::Lines), body.clone()).await;
        assert_eq!(v["retCode"], "invalid-parameter", "{body}: {v}");
        assert!(assert_refused(&v, "invalid-parameter").contains(field), "{body}: {v}");
    }
    local.stop();
}

// ---------------------------------------------------------------------------------------------
// §3.4

fn seats_body(schedule_id: &str, date: NaiveDate, time: &str) -> Value {
    json!({"scheduleId": schedule_id, "fromDate": ymd(date), "fromTime": time})
}

fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_answer_live_and_refuse_unknown_departures_and_bad_segments() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let today = today_gmt8();
    let d1 = today + Duration::days(1);
    let airport = sid("AIRPORT-EXP", d1, "08:30");
    let body = seats_body(&airport, d1, "08:30");

    // The whole segment by default, or as named: seats of the run, the segment's adult fare
    // as a String of fen, D, on sale.
    let full = json!({"retCode": "0", "retDesc": "成功", "success": true, "leftTicketCnt": 45, "ticketPrice": "3000",
                      "startTime": format!("{} 08:30:00", ymd(d1)), "saleStatus": 1});
    assert_eq!(call(&base, Route::Bus(BusRoute::Seats), body.clone()).await, full);
    assert_eq!(
        call(
            &base,
            Route::Bus(BusRoute::Seats),
            with(body.clone(), json!({"fromStationCode": "RMGC", "toStationCode": "PVG2", "lineId": "AIRPORT-EXP"}))
        )
        .await,
        full
    );
    assert_eq!(call(&base, Route::Bus(BusRoute::Seats), seats_body(&airport, d1, "08:30:00")).await, full);
    for (from, to, price) in [("SHA2", "PVG2", "2500"), ("RMGC", "SHA2", "1500")] {
        let v = call(&base, Route::Bus(BusRoute::Seats), with(body.clone(), json!({"fromStationCode": from, "toStationCode": to}))).await;
        assert_ok(&v);
        assert_eq!((v["ticketPrice"].as_str(), v["leftTicketCnt"].as_i64()), (Some(price), Some(45)), "{from}-{to}: {v}");
    }
    // The rolling line: its window's begin is D.
    let rolling = sid("SZ-SHA-FLOW", d1, "07:00");
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&rolling, d1, "07:00")).await;
    assert_eq!(
        v,
        json!({"retCode": "0", "retDesc": "成功", "success": true, "leftTicketCnt": 18, "ticketPrice": "6800",
                         "startTime": format!("{} 07:00:00", ymd(d1)), "saleStatus": 1})
    );

    // A fromDate/fromTime that is not D's is not an error: the answer carries the current D.
    for (date, time) in [(d1, "09:45"), (d1, "08:31"), (today + Duration::days(2), "08:30")] {
        let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&airport, date, time)).await;
        assert_eq!(v, full, "{date} {time}");
    }

    // Stopped: success with saleStatus 0 and no seats (not 1102).
    let stopped = stopped_id(today);
    let d2 = today + Duration::days(2);
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&stopped, d2, "08:00")).await;
    assert_eq!(
        v,
        json!({"retCode": "0", "retDesc": "成功", "success": true, "leftTicketCnt": 0, "ticketPrice": "8800",
                         "startTime": format!("{} 08:00:00", ymd(d2)), "saleStatus": 0})
    );
    // Not yet on sale (the rolling line sells 3 days ahead): saleStatus 0 too.
    let d5 = today + Duration::days(5);
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&sid("SZ-SHA-FLOW", d5, "13:00"), d5, "13:00")).await;
    assert_eq!((v["saleStatus"].as_i64(), v["leftTicketCnt"].as_i64(), v["ticketPrice"].as_str()), (Some(0), Some(0), Some("6800")), "{v}");

    // 1114: unknown scheduleId, or a lineId that is not its line.
    for b in [
        seats_body("NO-SUCH-SCHEDULE", d1, "08:30"),
        seats_body(&sid("AIRPORT-EXP", d1, "08:31"), d1, "08:31"),
        with(body.clone(), json!({"lineId": "HZ-SH-RT"})),
        with(body.clone(), json!({"lineId": "NO-SUCH-LINE"})),
    ] {
        let v = call(&base, Route::Bus(BusRoute::Seats), b.clone()).await;
        assert_eq!(assert_refused(&v, "1114"), "查询不到班次", "{b}");
    }
    // 1401: a from-station that does not board, a to-station that does not alight, out of
    // order, unknown stations.
    for (from, to) in [("PVG2", ""), ("", "RMGC"), ("SHA2", "SHA2"), ("NOPE", "PVG2"), ("RMGC", "NOPE")] {
        let mut b = body.clone();
        if !from.is_empty() {
            b["fromStationCode"] = json!(from);
        }
        if !to.is_empty() {
            b["toStationCode"] = json!(to);
        }
        let v = call(&base, Route::Bus(BusRoute::Seats), b.clone()).await;
        assert!(assert_refused(&v, "1401").starts_with("班次信息有误,不能下单"), "{b}: {v}");
    }
    // Format first.
    for (b, field) in [
        (json!({"fromDate": ymd(d1), "fromTime": "08:30"}), "scheduleId"),
        (json!({"scheduleId": airport, "fromTime": "08:30"}), "fromDate"),
        (json!({"scheduleId": airport, "fromDate": ymd(d1)}), "fromTime"),
        (seats_body(&airport, d1, "25:00"), "fromTime"),
        (seats_body(&airport, d1, "8.30"), "fromTime"),
        (seats_body(&airport, d1, "8:30"), "fromTime"),
        (seats_body(&airport, d1, "08:30:60"), "fromTime"),
        (seats_body(&airport, d1, "08:30:00.5"), "fromTime"),
        (json!({"scheduleId": airport, "fromDate": "2026-1-05", "fromTime": "08:30"}), "fromDate"),
        (json!({"scheduleId": airport, "fromDate": "2026-13-01", "fromTime": "08:30"}), "fromDate"),
        (seats_body("bad id!", d1, "08:30"), "scheduleId"),
    ] {
        let v = call(&base, Route::Bus(BusRoute::Seats), b.clone()).await;
        assert_eq!(v["retCode"], "invalid-parameter", "{b}: {v}");
        assert!(assert_refused(&v, "invalid-parameter").contains(field), "{b}: {v}");
    }
    local.stop();
}

/// A departure moved in the back office keeps its id; seats and lines show the current D and
/// seats; departures at the same D are ordered by scheduleId.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_and_resized_departures_show_their_current_time_and_seats() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let today = today_gmt8();
    let (d1, d3, d4, d5, d6) =
        (today + Duration::days(1), today + Duration::days(3), today + Duration::days(4), today + Duration::days(5), today + Duration::days(6));
    let moved_time = sid("AIRPORT-EXP", d3, "10:30");
    let moved_date = sid("AIRPORT-EXP", d5, "06:30");
    let resized = sid("AIRPORT-EXP", d1, "08:30");

    let mut file = catalogue::demo_catalogue(today);
    let t = |s: &str| DepartureTime::parse(s).unwrap();
    let airport = file.lines.iter_mut().find(|l| l.line.id == "AIRPORT-EXP").unwrap();
    airport.departures.extend([
        DepartureEntry { schedule_id: Some(moved_time.clone()), time: Some(t("11:00")), ..Default::default() },
        DepartureEntry { schedule_id: Some(moved_date.clone()), date: Some(d6), time: Some(t("07:00")), ..Default::default() },
        DepartureEntry { schedule_id: Some(resized.clone()), seats: Some(30), ..Default::default() },
    ]);
    let rt = file.lines.iter_mut().find(|l| l.line.id == "SH-HZ-RT").unwrap();
    rt.departures.push(DepartureEntry { schedule_id: Some("AAA-TIE".into()), date: Some(d4), time: Some(t("10:30")), ..Default::default() });
    catalogue::apply_import(local.app.store.as_ref(), &file, Utc::now(), &ImportOptions::default(), &|_, _| {}).await.expect("re-import");

    // The old fromTime is not an error: startTime is the current D.
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&moved_time, d3, "10:30")).await;
    assert_eq!(
        v,
        json!({"retCode": "0", "retDesc": "成功", "success": true, "leftTicketCnt": 45, "ticketPrice": "3000",
                         "startTime": format!("{} 11:00:00", ymd(d3)), "saleStatus": 1})
    );
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&moved_date, d5, "06:30")).await;
    assert_eq!(
        (v["startTime"].as_str(), v["leftTicketCnt"].as_i64(), v["saleStatus"].as_i64()),
        (Some(format!("{} 07:00:00", ymd(d6)).as_str()), Some(45), Some(1)),
        "{v}"
    );
    let v = call(&base, Route::Bus(BusRoute::Seats), seats_body(&resized, d1, "08:30")).await;
    assert_eq!(v["leftTicketCnt"], 30, "{v}");

    // Lines: listed at the current time, under the current date, with their seats.
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "lineId": "AIRPORT-EXP", "fromDate": ymd(d3)})).await;
    let e = element(&v, &moved_time);
    assert_eq!(
        (e["line"]["fromTime"].as_str(), e["line"]["fromDate"].as_str(), e["leftTicketCnt"].as_i64()),
        (Some("11:00"), Some(ymd(d3).as_str()), Some(45)),
        "{e}"
    );
    let pos = |id: &str| ids(&v).iter().position(|x| x == id).unwrap();
    assert!(
        pos(&sid("AIRPORT-EXP", d3, "08:30")) < pos(&moved_time) && pos(&moved_time) < pos(&sid("AIRPORT-EXP", d3, "13:30")),
        "sorted by D: {:?}",
        ids(&v)
    );
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "lineId": "AIRPORT-EXP", "fromDate": ymd(d5)})).await;
    assert!(!ids(&v).contains(&moved_date), "moved away from {d5}: {:?}", ids(&v));
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "lineId": "AIRPORT-EXP", "fromDate": ymd(d6)})).await;
    assert_eq!(ids(&v)[..3], [sid("AIRPORT-EXP", d6, "06:30"), moved_date.clone(), sid("AIRPORT-EXP", d6, "08:30")], "{:?}", ids(&v));
    let e = element(&v, &moved_date);
    assert_eq!(
        (e["line"]["fromTime"].as_str(), e["line"]["fromDate"].as_str(), e["leftTicketCnt"].as_i64()),
        (Some("07:00"), Some(ymd(d6).as_str()), Some(45)),
        "{e}"
    );
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "fromDate": ymd(d1)})).await;
    assert_eq!(element(&v, &resized)["leftTicketCnt"], 30);

    // Same D on two lines: ordered by scheduleId (AAA-TIE before AIRPORT-EXP-…).
    let v = call(&base, Route::Bus(BusRoute::Lines), json!({"fromCity": "上海", "fromDate": ymd(d4)})).await;
    let list = ids(&v);
    let tie = list.iter().position(|x| x == "AAA-TIE").expect("extra departure listed");
    assert_eq!(list[tie + 1], sid("AIRPORT-EXP", d4, "10:30"), "{list:?}");
    // And the whole listing is still in D order.
    let times: Vec<String> = v["lineSchedule"].as_array().unwrap().iter().map(|e| e["line"]["fromTime"].as_str().unwrap().to_string()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    local.stop();
}

// ---------------------------------------------------------------------------------------------
// §3.10

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_schedules_list_the_stopped_departure() {
    let started = Utc::now();
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let today = today_gmt8();
    let d2 = today + Duration::days(2);
    let stopped = stopped_id(today);
    let at = |date: NaiveDate, t: &str| format!("{} {t}", ymd(date));

    let v = call(&base, Route::Bus(BusRoute::StoppedSchedules), json!({})).await;
    assert_ok(&v);
    let list = v["lineSchedule"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    let mut e = list[0].clone();
    // stopTime: when the demo stopped it (local mode's start), GMT+8.
    let stop_time = e.as_object_mut().unwrap().remove("stopTime").expect("stopTime");
    let parsed = NaiveDateTime::parse_from_str(stop_time.as_str().unwrap(), "%Y-%m-%d %H:%M:%S").expect("yyyy-MM-dd HH:mm:ss");
    let parsed = parsed.and_local_timezone(gmt8()).unwrap().with_timezone(&Utc);
    assert!(parsed >= started - Duration::seconds(1) && parsed <= Utc::now(), "{stop_time} vs start {started}");
    assert_eq!(
        e,
        json!({
            "scheduleId": stopped,
            "line": {"id": "SH-HZ-RT", "name": "上海-杭州", "desc": "往返线路,回程次日发车", "fromTimeType": 1, "fromDate": ymd(d2), "fromTime": "08:00"},
            "fromCity": "上海市",
            "toCity": "杭州市",
            "stopReason": "车辆检修"
        })
    );

    // Filters (every one optional): cities by the city match, stations by code or name,
    // begin ≤ D < end.
    for (body, listed) in [
        (json!({"fromCity": "上海", "toCity": "杭州市"}), true),
        (json!({"fromCity": "上海市"}), true),
        (json!({"fromCity": "苏州"}), false),
        (json!({"toCity": "上海"}), false),
        (json!({"fromStationCode": "上海南站"}), true),
        (json!({"fromStationCode": "SHNZ", "toStationCode": "HZDZ"}), true),
        (json!({"toStationCode": "杭州东站"}), true),
        (json!({"toStationCode": "SHNZ"}), false),
        (json!({"fromStationCode": "HZDZ"}), false),
        (json!({"fromDateTimeBegin": at(d2, "08:00:00"), "fromDateTimeEnd": at(d2, "08:00:01")}), true),
        (json!({"fromDateTimeBegin": at(today, "00:00:00"), "fromDateTimeEnd": at(d2, "08:00:00")}), false),
        (json!({"fromDateTimeBegin": at(d2, "08:00:01")}), false),
        (json!({"fromDateTimeEnd": at(d2, "08:00:01")}), true),
        (json!({"fromDateTimeBegin": at(today, "00:00:00"), "fromDateTimeEnd": at(today + Duration::days(7), "00:00:00"), "fromCity": "上海"}), true),
    ] {
        let v = call(&base, Route::Bus(BusRoute::StoppedSchedules), body.clone()).await;
        assert_ok(&v);
        assert_eq!(ids(&v), if listed { vec![stopped.clone()] } else { vec![] }, "{body}");
    }

    // begin ≥ end, or a bad date-time: invalid-parameter.
    for (body, field) in [
        (json!({"fromDateTimeBegin": at(d2, "09:00:00"), "fromDateTimeEnd": at(d2, "08:00:00")}), "fromDateTime"),
        (json!({"fromDateTimeBegin": at(d2, "08:00:00"), "fromDateTimeEnd": at(d2, "08:00:00")}), "fromDateTime"),
        (json!({"fromDateTimeBegin": ymd(d2)}), "fromDateTimeBegin"),
        (json!({"fromDateTimeEnd": "2026-13-01 00:00:00"}), "fromDateTimeEnd"),
        (json!({"fromDateTimeBegin": 1}), "fromDateTimeBegin"),
        (json!({"fromDateTimeBegin": format!("{} 8:00:00", ymd(d2))}), "fromDateTimeBegin"),
        (json!({"fromDateTimeBegin": format!("{}T08:00:00", ymd(d2))}), "fromDateTimeBegin"),
    ] {
        let v = call(&base, Route::Bus(BusRoute::StoppedSchedules), body.clone()).await;
        assert_eq!(v["retCode"], "invalid-parameter", "{body}: {v}");
        assert!(assert_refused(&v, "invalid-parameter").contains(field), "{body}: {v}");
    }
    local.stop();
}

// ---------------------------------------------------------------------------------------------
// Refusals on every catalogue route (§2.1)

/// What an interested observer can see of the store: the answers of every catalogue route,
/// the calls made to Fliggy and the callbacks waiting to be sent.
async fn observable_state(local: &busgate_cli::local::Running, valid: &[(Route, Value)]) -> Vec<String> {
    let base = local.base_url();
    let mut out = Vec::new();
    for (route, body) in valid {
        out.push(call(&base, *route, body.clone()).await.to_string());
    }
    out.push(format!("fake top calls: {}", local.fake_top.calls().len()));
    for status in [busgate_domain::outbox::CallbackStatus::Pending, busgate_domain::outbox::CallbackStatus::Dead] {
        let items = local.app.store.query_index(busgate_domain::outbox::Callback::index_pk(status), "").await.unwrap();
        out.push(format!("{status:?} callbacks: {}", items.len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogue_route_refuses_bad_requests_in_the_bus_envelope_and_changes_nothing() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let today = today_gmt8();
    let d1 = today + Duration::days(1);
    let valid: Vec<(Route, Value)> = vec![
        (Route::Bus(BusRoute::FromCities), json!({"fromCity": "上海"})),
        (Route::Bus(BusRoute::ToCities), json!({"fromCity": "上海市"})),
        (Route::Bus(BusRoute::Lines), json!({"fromCity": "上海市", "fromDate": ymd(d1)})),
        (Route::Bus(BusRoute::Seats), seats_body(&sid("AIRPORT-EXP", d1, "08:30"), d1, "08:30")),
        (Route::Bus(BusRoute::StoppedSchedules), json!({"fromCity": "上海"})),
    ];
    // Every one of them answers when it is well formed and signed (timestamps: GMT+8 text,
    // epoch milliseconds, or in the future).
    for (route, body) in &valid {
        assert_ok(&call(&base, *route, body.clone()).await);
        let bytes = serde_json::to_vec(body).unwrap();
        let future = busgate_signing::format_timestamp(Utc::now() + Duration::hours(1));
        for ts in [Utc::now().timestamp_millis().to_string(), future] {
            let a = post_bytes(&bus_url(&base, *route, &bytes, SECRET, &ts), Some(JSON), bytes.clone()).await;
            assert_ok(&a.json());
        }
    }
    // The demo import's item.notify callbacks go out in the background: let them settle.
    let store = local.app.store.as_ref();
    busgate_tests::wait_for(std::time::Duration::from_secs(20), "the demo's callbacks to be delivered", || async move {
        let pending =
            store.query_index(busgate_domain::outbox::Callback::index_pk(busgate_domain::outbox::CallbackStatus::Pending), "").await.unwrap();
        pending.is_empty().then_some(())
    })
    .await;
    let before = observable_state(&local, &valid).await;

    for (route, body) in &valid {
        let good = serde_json::to_vec(body).unwrap();
        let name = route.path();

        // Malformed JSON (signed): invalid-parameter.
        for bad in [&b"{\"fromCity\":"[..], b"{\"fromCity\":\"a\",}", b"not json", b""] {
            let a = post_bytes(&bus_url(&base, *route, bad, SECRET, &now_timestamp()), Some(JSON), bad.to_vec()).await;
            assert_eq!((a.status, a.content_type.as_str()), (200, "application/json;charset=utf-8"), "{name}");
            let desc = assert_refused(&a.json(), "invalid-parameter").to_string();
            assert!(desc.starts_with("body"), "{name}: {desc}");
        }
        // Unsigned, no query at all, or signed with another secret: the exact sign-failure body.
        for url in [
            format!("{base}{name}"),
            format!("{base}{name}?timestamp={}", now_timestamp().replace(' ', "+")),
            bus_url(&base, *route, &good, "another-secret", &now_timestamp()),
        ] {
            let a = post_bytes(&url, Some(JSON), good.clone()).await;
            assert_eq!((a.status, a.text.as_str()), (200, SIGN_FAILURE), "{url}");
            assert_eq!(a.content_type, "application/json;charset=utf-8");
        }
        // A stale timestamp (window 300 s), correctly signed: timestamp-expired.
        let stale = busgate_signing::format_timestamp(Utc::now() - Duration::seconds(301));
        let a = post_bytes(&bus_url(&base, *route, &good, SECRET, &stale), Some(JSON), good.clone()).await;
        assert_eq!(a.status, 200);
        assert_eq!(assert_refused(&a.json(), "timestamp-expired"), "请求已过期", "{name}");
        // Over 262144 bytes (valid JSON, signed): body-too-large.
        let mut big = body.clone();
        big["padding"] = json!("x".repeat(270_000));
        let big = serde_json::to_vec(&big).unwrap();
        let a = post_bytes(&bus_url(&base, *route, &big, SECRET, &now_timestamp()), Some(JSON), big).await;
        assert_eq!(a.status, 200);
        assert_eq!(assert_refused(&a.json(), "body-too-large"), "请求体过大", "{name}");
        // Oversize and unsigned: the size is checked first.
        let a = post_bytes(&format!("{base}{name}"), Some(JSON), vec![b' '; 262_145]).await;
        assert_refused(&a.json(), "body-too-large");
    }

    let after = observable_state(&local, &valid).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a, b, "refused requests changed something");
    }
    local.stop();
}
