//! The order and refund interfaces end to end through the bus handlers (fliggy-bus.md §3.5–
//! §3.9, §3.11): field parsing and paths, exact answer shapes, callbacks handed to the queue.
//! The demo catalogue as of 2022-11-01, on the memory store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use busgate_adapters::InProcessQueue;
use busgate_domain::catalogue::{apply_import, demo_catalogue, load_departure_record, ImportOptions};
use busgate_domain::orders;
use busgate_domain::queue::Lane;
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::{gmt8, ManualClock};
use busgate_edge::{App, BusRoute, Config};
use busgate_wire::fliggy::{self, Failure, RetCode};
use busgate_wire::json::{parse_object, Fields};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};

/// The airport express departure of 2022-11-03 10:30 (D), 45 seats, per-ticket refunds.
const SID: &str = "AIRPORT-EXP-20221103-1030";

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    gmt8().with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap().with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at(2022, 11, 1, 10, 0, 0)
}

fn d() -> DateTime<Utc> {
    at(2022, 11, 3, 10, 30, 0)
}

struct Env {
    app: App,
    clock: Arc<ManualClock>,
    queue: Arc<InProcessQueue>,
    store: Arc<MemoryStore>,
}

async fn env(vars: &[(&str, &str)]) -> Env {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_lookup(&|k| map.get(k).cloned()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let today = NaiveDate::from_ymd_opt(2022, 11, 1).unwrap();
    apply_import(store.as_ref(), &demo_catalogue(today), now(), &ImportOptions::default(), &|_, _| {}).await.unwrap();
    let queue = Arc::new(InProcessQueue::new(StdDuration::from_secs(30), 10));
    let clock = Arc::new(ManualClock::new(now()));
    let app = App::new(config, store.clone(), queue.clone(), clock.clone());
    Env { app, clock, queue, store }
}

async fn call(e: &Env, route: BusRoute, body: Value) -> Result<Map<String, Value>, Failure> {
    let bytes = serde_json::to_vec(&body).unwrap();
    let map = parse_object(&bytes).map_err(Failure::from)?;
    busgate_edge::inbound::bus::dispatch(&e.app, route, Fields::new(&map)).await.map(fliggy::Data::into_fields)
}

fn rendered(r: &Result<Map<String, Value>, Failure>) -> String {
    String::from_utf8(fliggy::render(&r.clone().map(|m| fliggy::Data::of(&m)))).unwrap()
}

fn invalid(desc: &str) -> Failure {
    Failure::new(RetCode::InvalidParameter, desc)
}

async fn seats(e: &Env) -> i64 {
    load_departure_record(e.store.as_ref(), SID).await.unwrap().unwrap().seats_left
}

fn passenger(name: &str, no: &str) -> Value {
    json!({"passengerName": name, "passengerCertificateType": "1", "passengerCertificateNo": no, "passengerType": "0", "ticketPrice": 3000})
}

/// The §3.5 example, on the demo airport express (人民广场 → 浦东机场T2, 3000 fen).
fn create_body(id: &str, passengers: Vec<Value>) -> Value {
    let n = passengers.len() as i64;
    json!({
        "lineId": "AIRPORT-EXP", "scheduleId": SID, "alitripOrderId": id, "alipayTradeNo": "2030000000000000000001", "goodsId": "G1",
        "fromDate": "2022-11-03", "fromTime": "10:30:00", "ticketAmount": 3000 * n, "orderAmount": 3000 * n, "ticketCount": n,
        "fromCityName": "上海市", "fromCityCode": "310100", "toCityName": "上海市", "toCityCode": "310100",
        "fromStationName": "人民广场", "fromStationCode": "RMGC", "toStationName": "浦东机场T2", "toStationCode": "PVG2",
        "contactName": "张三", "contactMobile": "13800000000", "passengerList": passengers
    })
}

fn one(id: &str) -> Value {
    create_body(id, vec![passenger("张三", "110101199001011234")])
}

#[tokio::test]
async fn create_query_confirm_through_the_interfaces() {
    let e = env(&[]).await;
    let a = call(&e, BusRoute::OrdersCreate, one("900000000001")).await.unwrap();
    let agent = a["agentOrderId"].as_str().unwrap().to_string();
    assert_eq!(
        Value::Object(a.clone()),
        json!({"agentOrderId": agent, "alitripOrderId":"900000000001","status":"1","statusDesc":"等待付款","lockExpireTime":"2022-11-01 10:30:00","orderAmount":3000,
               "passengerList":[{"passengerId":"1","passengerName":"张三","passengerType":"0","passengerCertificateType":"1","passengerCertificateNo":"110101199001011234",
                                 "ticketList":[{"ticketId": format!("{agent}-1"),"ticketStatus":"1","ticketPrice":3000,"isRefund":false}]}]})
    );
    assert!(rendered(&Ok(a.clone())).starts_with(r#"{"#));
    assert_eq!(seats(&e).await, 44);

    let ids = json!({"agentOrderId": agent, "alitripOrderId": "900000000001"});
    let q = call(&e, BusRoute::OrdersQuery, ids.clone()).await.unwrap();
    assert_eq!(q["startTime"], "2022-11-03 10:30:00");
    assert_eq!(q["scheduleId"], SID);
    assert_eq!(q["lineId"], "AIRPORT-EXP");
    assert_eq!(q["orderAmount"], 3000);

    e.clock.set(now() + Duration::seconds(312));
    let c = call(&e, BusRoute::OrdersConfirm, ids.clone()).await.unwrap();
    assert_eq!(c["status"], "3");
    assert_eq!(c["statusDesc"], "出票成功");
    assert_eq!(c["agentIssueTime"], "2022-11-01 10:05:12");
    assert_eq!(c["ticketWicket"], "人民广场站2号口");
    let tk = &c["passengerList"][0]["ticketList"][0];
    assert_eq!(tk["ticketNo"], format!("{agent}-1"));
    assert!(tk["ticketPrice"].is_number() && tk["isRefund"].is_boolean() && tk["ticketPwd"].is_string());
    assert_eq!(call(&e, BusRoute::OrdersConfirm, ids.clone()).await.unwrap(), c);
    let q = call(&e, BusRoute::OrdersQuery, ids).await.unwrap();
    assert_eq!(q["status"], "3");
    assert_eq!(q["agentIssueTime"], "2022-11-01 10:05:12");
    // Close a paid order.
    let r = call(&e, BusRoute::OrdersClose, json!({"alitripOrderId": "900000000001"})).await;
    assert_eq!(rendered(&r), r#"{"retCode":"invalid-state","retDesc":"订单已支付,请走退票流程","success":false}"#);
    // No queue traffic in sync mode.
    assert_eq!(e.queue.depth(Lane::Main), 0);
}

#[tokio::test]
async fn create_field_problems_name_their_paths() {
    let e = env(&[]).await;
    let two = |p2: Value| create_body("900000000002", vec![passenger("张三", "110101199001011234"), p2]);
    let cases: Vec<(Value, &str)> = vec![
        (two(json!({"passengerName":"李四","passengerCertificateType":"1"})), "passengerList[1].passengerCertificateNo: required"),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"1","passengerCertificateNo":"  "})),
            "passengerList[1].passengerCertificateNo: required (empty)",
        ),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"1","passengerCertificateNo":"1101011990010112"})),
            "passengerList[1].passengerCertificateNo: must be 17 digits and a digit or X",
        ),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"1","passengerCertificateNo":"110101199001011234","passengerType":"2"})),
            "passengerList[1].passengerType: must be 0 (adult) or 1 (child)",
        ),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"1","passengerCertificateNo":"110101199001011234","passengerType":2})),
            "passengerList[1].passengerType: must be 0 (adult) or 1 (child)",
        ),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"9","passengerCertificateNo":"110101199001011234"})),
            "passengerList[1].passengerCertificateType: must be 1 (ID card), 2, 3 or 4",
        ),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"2","passengerCertificateNo":"E 123"})),
            "passengerList[1].passengerCertificateNo: must be 1-32 printable ASCII characters without spaces",
        ),
        (two(json!({"passengerCertificateType":"1","passengerCertificateNo":"110101199001011234"})), "passengerList[1].passengerName: required"),
        (
            two(json!({"passengerName":"李四","passengerCertificateType":"1","passengerCertificateNo":"110101199001011234","ticketPrice":30.5})),
            "passengerList[1].ticketPrice: must be an integer amount in fen",
        ),
        (two(json!("李四")), "passengerList[1]: must be an object"),
    ];
    for (body, desc) in cases {
        assert_eq!(call(&e, BusRoute::OrdersCreate, body).await, Err(invalid(desc)), "{desc}");
    }
    let mut b = one("900000000003");
    b["ticketCount"] = json!(2);
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("ticketCount: must equal the number of passengers (1)")));
    let mut b = one("900000000003");
    b["ticketCount"] = json!(0);
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("ticketCount: must be at least 1")));
    let mut b = one("900000000003");
    b["fromTime"] = json!("10:3");
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("fromTime: must be a time HH:mm or HH:mm:ss")));
    let mut b = one("900000000003");
    b["fromDate"] = json!("2022-11-3");
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("fromDate: must be a date yyyy-MM-dd")));
    let mut b = one("12a");
    b["alitripOrderId"] = json!("12a");
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("alitripOrderId: must be 1-19 digits, at most 9223372036854775807")));
    let mut b = one("900000000003");
    b.as_object_mut().unwrap().remove("passengerList");
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("passengerList: required")));
    let mut b = one("900000000003");
    b["orderAmount"] = json!("3000");
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("orderAmount: must be a number (fen)")));
    // Nothing was stored or locked.
    assert_eq!(seats(&e).await, 45);
    // alitripOrderId as a JSON number: refused (ids are Strings, §2.5), nothing stored.
    let mut b = one("900000000004");
    b["alitripOrderId"] = json!(900000000004u64);
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, Err(invalid("alitripOrderId: must be a string")));
    assert_eq!(seats(&e).await, 45);
    // Codes as JSON integers, `HH:mm`, an x in the ID: accepted.
    let mut b = create_body(
        "900000000004",
        vec![json!({"passengerName":"王五","passengerCertificateType":1,"passengerCertificateNo":"11010119900101123x","passengerType":0})],
    );
    b["fromTime"] = json!("10:30");
    let a = call(&e, BusRoute::OrdersCreate, b).await.unwrap();
    assert_eq!(a["passengerList"][0]["passengerCertificateNo"], "11010119900101123X");
    assert_eq!(a["passengerList"][0]["passengerType"], "0");
    assert_eq!(a["passengerList"][0]["passengerCertificateType"], "1");
}

#[tokio::test]
async fn create_refusals_render_and_repeat() {
    let e = env(&[]).await;
    let mut b = one("900000000010");
    b["fromTime"] = json!("10:31");
    let r = call(&e, BusRoute::OrdersCreate, b.clone()).await;
    assert_eq!(rendered(&r), r#"{"retCode":"1401","retDesc":"班次信息有误,不能下单: 发车时间已变更","success":false}"#);
    assert_eq!(call(&e, BusRoute::OrdersCreate, b).await, r);
    let mut b = one("900000000011");
    b["scheduleId"] = json!("NOPE");
    assert_eq!(rendered(&call(&e, BusRoute::OrdersCreate, b).await), r#"{"retCode":"1114","retDesc":"查询不到班次","success":false}"#);
    // 46 passengers on 45 seats.
    let many: Vec<Value> = (0..46).map(|i| passenger(&format!("乘客{i}"), &format!("11010119900101{:04}", i))).collect();
    let r = call(&e, BusRoute::OrdersCreate, create_body("900000000012", many)).await;
    assert_eq!(rendered(&r), r#"{"retCode":"1104","retDesc":"余票不足","success":false}"#);
    // Stopped demo departure.
    let mut b = one("900000000013");
    b["scheduleId"] = json!("SH-HZ-RT-20221103-0800");
    b["lineId"] = json!("SH-HZ-RT");
    b["fromTime"] = json!("08:00");
    assert_eq!(rendered(&call(&e, BusRoute::OrdersCreate, b).await), r#"{"retCode":"1102","retDesc":"班次停运","success":false}"#);
    // The failed create is no order.
    let q = call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId": "900000000010"})).await;
    assert_eq!(rendered(&q), r#"{"retCode":"order-not-found","retDesc":"订单不存在","success":false}"#);
    // Reused with another body.
    let r = call(&e, BusRoute::OrdersCreate, one("900000000010")).await;
    assert_eq!(r, Err(invalid("alitripOrderId: already used with a different request")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_creates_in_flight_take_effect_once() {
    let e = Arc::new(env(&[]).await);
    let mut handles = Vec::new();
    for _ in 0..5 {
        let e = e.clone();
        handles.push(tokio::spawn(async move { call(&e, BusRoute::OrdersCreate, one("900000000020")).await }));
    }
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap().unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(seats(&e).await, 44);
}

#[tokio::test]
async fn close_and_lazy_expiry() {
    let e = env(&[("BUSGATE_HOLD_MINUTES", "15")]).await;
    let a = call(&e, BusRoute::OrdersCreate, one("900000000030")).await.unwrap();
    assert_eq!(a["lockExpireTime"], "2022-11-01 10:15:00");
    let c = call(&e, BusRoute::OrdersClose, json!({"alitripOrderId": "900000000030", "agentOrderId": a["agentOrderId"]})).await.unwrap();
    assert_eq!(
        Value::Object(c.clone()),
        json!({"agentOrderId": a["agentOrderId"], "alitripOrderId":"900000000030","status":"5","statusDesc":"订单取消"})
    );
    assert_eq!(call(&e, BusRoute::OrdersClose, json!({"alitripOrderId": "900000000030"})).await.unwrap(), c);
    assert_eq!(seats(&e).await, 45);
    let r = call(&e, BusRoute::OrdersClose, json!({"alitripOrderId": "900000000030", "agentOrderId": "BG1"})).await;
    assert_eq!(r, Err(Failure::plain(RetCode::OrderNotFound)));

    call(&e, BusRoute::OrdersCreate, one("900000000031")).await.unwrap();
    assert_eq!(seats(&e).await, 44);
    e.clock.set(now() + Duration::minutes(15));
    let r = call(&e, BusRoute::OrdersConfirm, json!({"alitripOrderId": "900000000031"})).await;
    assert_eq!(rendered(&r), r#"{"retCode":"invalid-state","retDesc":"订单已取消","success":false}"#);
    assert_eq!(seats(&e).await, 45);
}

#[tokio::test]
async fn async_issue_hands_callbacks_to_the_queue() {
    // Back-office issuing only: no automatic issue job in the queue.
    let e = env(&[("BUSGATE_ISSUE_MODE", "async"), ("BUSGATE_ASYNC_ISSUE_DEADLINE_MINUTES", "5"), ("BUSGATE_AUTO_ISSUE", "false")]).await;
    call(&e, BusRoute::OrdersCreate, one("900000000040")).await.unwrap();
    call(&e, BusRoute::OrdersCreate, one("900000000041")).await.unwrap();
    let c = call(&e, BusRoute::OrdersConfirm, json!({"alitripOrderId": "900000000040"})).await.unwrap();
    assert_eq!(c["status"], "2");
    assert_eq!(c["agentIssueTime"], "2022-11-01 10:00:00");
    call(&e, BusRoute::OrdersConfirm, json!({"alitripOrderId": "900000000041"})).await.unwrap();
    // The back office issues one.
    let d = orders::decide_issue(e.store.as_ref(), "900000000041", true, None, None, now() + Duration::minutes(1)).await.unwrap();
    e.app.dispatch(&d.callback_ids).await;
    assert_eq!(e.queue.depth(Lane::Main), 1);
    // The other misses its deadline: the query that finds it queues the failure callback.
    e.clock.set(now() + Duration::minutes(5));
    let q = call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId": "900000000040"})).await.unwrap();
    assert_eq!(q["status"], "4");
    assert_eq!(q["bookFaildMsg"], "出票超时");
    assert_eq!(e.queue.depth(Lane::Main), 2);
    let r = call(&e, BusRoute::OrdersConfirm, json!({"alitripOrderId": "900000000040"})).await;
    assert_eq!(rendered(&r), r#"{"retCode":"invalid-state","retDesc":"出票超时","success":false}"#);
    assert_eq!(call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId": "900000000041"})).await.unwrap()["status"], "3");
}

async fn issued(e: &Env, id: &str, n: usize) -> String {
    let ps: Vec<Value> = (0..n).map(|i| passenger(&format!("乘客{i}"), &format!("11010119900101{:04}", i))).collect();
    let a = call(e, BusRoute::OrdersCreate, create_body(id, ps)).await.unwrap();
    call(e, BusRoute::OrdersConfirm, json!({"alitripOrderId": id})).await.unwrap();
    a["agentOrderId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn refund_fee_table_through_the_interface() {
    let e = env(&[]).await;
    let agent = issued(&e, "900000000050", 1).await;
    let ids = json!({"agentOrderId": agent, "alitripOrderId": "900000000050"});
    let ms = Duration::milliseconds(1);
    // 3000-fen ticket: free, 5 %, 10 %, 25 %, refused.
    let cases: [(DateTime<Utc>, i64, bool); 8] = [
        (d() - Duration::hours(48), 0, true),
        (d() - Duration::hours(48) + ms, 150, true),
        (d() - Duration::hours(24), 150, true),
        (d() - Duration::hours(6), 300, true),
        (d() - Duration::hours(6) + ms, 750, true),
        (d() - Duration::hours(3), 750, true),
        (d() - Duration::hours(3) + ms, 3000, false),
        (d() + ms, 3000, false),
    ];
    for (t, surcharge, ok) in cases {
        e.clock.set(t);
        let f = call(&e, BusRoute::RefundsFee, ids.clone()).await.unwrap();
        let p = &f["passengerList"][0];
        assert_eq!(p["refundSurcharge"], surcharge, "{t}");
        assert_eq!(p["refundAmount"], if ok { 3000 - surcharge } else { 0 });
        assert_eq!(p["refundable"], ok);
    }
    e.clock.set(d() - Duration::hours(7));
    let f = call(&e, BusRoute::RefundsFee, ids.clone()).await.unwrap();
    assert_eq!(
        Value::Object(f),
        json!({"agentOrderId": agent, "alitripOrderId":"900000000050","refundMode":"ticket",
               "passengerList":[{"passengerId":"1","passengerName":"乘客0","passengerCertificateType":"1","passengerCertificateNo":"110101199001010000",
                                 "ticketId": format!("{agent}-1"),"ticketPrice":3000,"refundSurcharge":300,"refundAmount":2700,"refundable":true}]})
    );
    e.clock.set(d() - Duration::hours(1));
    let f = call(&e, BusRoute::RefundsFee, ids).await.unwrap();
    assert_eq!(f["passengerList"][0]["refundDesc"], "发车前3小时内不可退票");
}

#[tokio::test]
async fn refund_apply_through_the_interface() {
    let e = env(&[]).await;
    let agent = issued(&e, "900000000060", 2).await;
    assert_eq!(seats(&e).await, 43);
    e.clock.set(d() - Duration::hours(7));
    // Shape problems.
    let r = call(&e, BusRoute::RefundsApply, json!({"alitripOrderId":"900000000060","passengerList":[{"passengerName":"乘客0"}]})).await;
    assert_eq!(r, Err(invalid("passengerList[0]: ticketId, passengerId or passengerCertificateType+passengerCertificateNo required")));
    let r = call(&e, BusRoute::RefundsApply, json!({"alitripOrderId":"900000000060"})).await;
    assert_eq!(r, Err(invalid("passengerList: required")));
    let r = call(&e, BusRoute::RefundsApply, json!({"alitripOrderId":"900000000060","passengerList":[{"ticketId":"X-9"}]})).await;
    assert_eq!(r, Err(invalid("passengerList[0].ticketId: matches no ticket of this order")));
    // Surcharge shown is stale: 1401 with the bare text (§8.1).
    let r = call(
        &e,
        BusRoute::RefundsApply,
        json!({"alitripOrderId":"900000000060","passengerList":[{"ticketId": format!("{agent}-1"),"refundSurcharge":150}]}),
    )
    .await;
    assert_eq!(rendered(&r), r#"{"retCode":"1401","retDesc":"退票手续费已变更,请重新查询","success":false}"#);
    // The §3.9 example shape.
    let body = json!({"agentOrderId": agent, "alitripOrderId":"900000000060","passengerList":[{"passengerName":"乘客0","passengerCertificateType":"1","passengerCertificateNo":"110101199001010000","passengerId":"1","ticketId": format!("{agent}-1"),"refundSurcharge":300}]});
    let a = call(&e, BusRoute::RefundsApply, body.clone()).await.unwrap();
    let rid = a["refundId"].as_str().unwrap().to_string();
    assert_eq!(
        Value::Object(a.clone()),
        json!({"agentOrderId": agent, "alitripOrderId":"900000000060","refundId": rid,"status":"3","totalRefundAmount":2700,
               "passengerList":[{"ticketId": format!("{agent}-1"),"passengerId":"1","ticketStatus":"5","refundSurcharge":300,"refundAmount":2700}]})
    );
    assert_eq!(seats(&e).await, 44);
    assert_eq!(call(&e, BusRoute::RefundsApply, body).await.unwrap(), a);
    // The other ticket by certificate, at 25 %.
    e.clock.set(d() - Duration::hours(4));
    let b = call(
        &e,
        BusRoute::RefundsApply,
        json!({"alitripOrderId":"900000000060","passengerList":[{"passengerCertificateType":1,"passengerCertificateNo":"110101199001010001"}],"refundReason":"行程变更"}),
    )
    .await
    .unwrap();
    assert_eq!(b["status"], "11");
    assert_eq!(b["totalRefundAmount"], 2250);
    assert_eq!(seats(&e).await, 45);
    let q = call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId":"900000000060"})).await.unwrap();
    assert_eq!(q["status"], "11");
    assert_eq!(q["statusDesc"], "退票成功");
    assert_eq!(q["passengerList"][1]["ticketList"][0]["isRefund"], true);
    // Unissued order.
    call(&e, BusRoute::OrdersCreate, one("900000000061")).await.unwrap();
    let r = call(&e, BusRoute::RefundsFee, json!({"alitripOrderId":"900000000061"})).await;
    assert_eq!(rendered(&r), r#"{"retCode":"invalid-state","retDesc":"订单未出票","success":false}"#);
}

#[tokio::test]
async fn async_refund_through_the_interface() {
    let e = env(&[("BUSGATE_REFUND_MODE", "async"), ("BUSGATE_AUTO_REFUND", "false")]).await;
    let agent = issued(&e, "900000000070", 1).await;
    let a = call(&e, BusRoute::RefundsApply, json!({"alitripOrderId":"900000000070","passengerList":[{"passengerId":"1"}]})).await.unwrap();
    assert_eq!(a["status"], "9");
    assert_eq!(a["passengerList"][0]["ticketStatus"], "4");
    assert_eq!(seats(&e).await, 44);
    let d = orders::decide_refund(e.store.as_ref(), a["refundId"].as_str().unwrap(), true, None, now()).await.unwrap();
    e.app.dispatch(&d.callback_ids).await;
    assert_eq!(e.queue.depth(Lane::Main), 1);
    assert_eq!(seats(&e).await, 45);
    let q = call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId":"900000000070", "agentOrderId": agent})).await.unwrap();
    assert_eq!(q["status"], "11");
}

/// The TOP method a stored callback calls.
fn method_of(item: &busgate_domain::store::Item) -> String {
    let cb: busgate_domain::outbox::Callback = item.decode().unwrap();
    busgate_wire::callbacks::top_call(&cb.destination).map(|(method, _)| method).unwrap_or_default()
}

/// Receives every message on the main lane and runs the worker's attempt on each (no partner
/// is called: only jobs are expected here).
async fn run_jobs(e: &Env) -> Vec<busgate_edge::outbound::delivery::Disposition> {
    use busgate_domain::queue::Queue;
    let partners = e.app.config.partners();
    let mut out = Vec::new();
    for m in e.queue.receive(Lane::Main, 10, 0).await.unwrap() {
        out.push(busgate_edge::outbound::delivery::attempt(&e.app, partners.as_ref(), &m.body).await);
        e.queue.delete(Lane::Main, &m.receipt).await.unwrap();
    }
    out
}

#[tokio::test]
async fn an_async_refund_is_approved_by_the_automatic_job_once() {
    use busgate_domain::store::Store;
    let e = env(&[("BUSGATE_REFUND_MODE", "async"), ("BUSGATE_AUTO_REFUND_DELAY_SECS", "0")]).await;
    issued(&e, "900000000071", 1).await;
    let apply = json!({"alitripOrderId":"900000000071","passengerList":[{"passengerId":"1"}]});
    let a = call(&e, BusRoute::RefundsApply, apply.clone()).await.unwrap();
    assert_eq!(a["status"], "9");
    // The approval job waits in the queue; Fliggy's retry of the same apply queues it again.
    assert_eq!(call(&e, BusRoute::RefundsApply, apply).await.unwrap(), a);
    assert_eq!(e.queue.depth(Lane::Main), 2);
    e.clock.set(now() + Duration::seconds(3));
    let done = run_jobs(&e).await;
    assert_eq!(done, [busgate_edge::outbound::delivery::Disposition::Done, busgate_edge::outbound::delivery::Disposition::Done]);
    // One decision: tickets 5, seat back, order 11, and exactly one refund.confirm queued.
    let q = call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId":"900000000071"})).await.unwrap();
    assert_eq!(q["status"], "11");
    assert_eq!(q["passengerList"][0]["ticketList"][0]["ticketStatus"], "5");
    assert_eq!(seats(&e).await, 45);
    let pending = busgate_domain::orders::records::list_pending_refunds(e.store.as_ref()).await.unwrap();
    assert!(pending.is_empty());
    let callbacks =
        e.store.query_index(busgate_domain::outbox::Callback::index_pk(busgate_domain::outbox::CallbackStatus::Pending), "").await.unwrap();
    let confirms: Vec<_> = callbacks.iter().filter(|i| method_of(i) == "taobao.bus.agent.refund.confirm").collect();
    assert_eq!(confirms.len(), 1, "one refund.confirm for one decision");
    assert_eq!(e.queue.depth(Lane::Main), 1, "the refund.confirm delivery");
}

#[tokio::test]
async fn with_automation_off_the_sweeper_approves_a_refund_left_pending_past_its_deadline() {
    use busgate_domain::store::Store;
    let e = env(&[("BUSGATE_REFUND_MODE", "async"), ("BUSGATE_AUTO_REFUND", "false"), ("BUSGATE_ASYNC_REFUND_DEADLINE_MINUTES", "30")]).await;
    issued(&e, "900000000072", 1).await;
    let a = call(&e, BusRoute::RefundsApply, json!({"alitripOrderId":"900000000072","passengerList":[{"passengerId":"1"}]})).await.unwrap();
    assert_eq!(e.queue.depth(Lane::Main), 0, "no automatic job");
    e.clock.set(now() + Duration::minutes(29));
    busgate_edge::outbound::sweeper::sweep(&e.app).await;
    assert_eq!(call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId":"900000000072"})).await.unwrap()["status"], "9");
    e.clock.set(now() + Duration::minutes(31));
    let report = busgate_edge::outbound::sweeper::sweep(&e.app).await;
    assert!(report.contains("1 overdue refunds approved"), "{report}");
    assert_eq!(call(&e, BusRoute::OrdersQuery, json!({"alitripOrderId":"900000000072"})).await.unwrap()["status"], "11");
    let callbacks =
        e.store.query_index(busgate_domain::outbox::Callback::index_pk(busgate_domain::outbox::CallbackStatus::Pending), "").await.unwrap();
    assert_eq!(callbacks.iter().filter(|i| method_of(i) == "taobao.bus.agent.refund.confirm").count(), 1, "its refund.confirm");
    let r = e.store.get(&busgate_domain::orders::records::refund_key(a["refundId"].as_str().unwrap())).await.unwrap().unwrap();
    assert!(r.body.contains("\"pending\":false"), "{}", r.body);
}

#[tokio::test]
async fn replaying_all_dead_empties_the_dead_letter_lane_whatever_put_a_message_there() {
    use busgate_domain::outbox::{Callback, CallbackStatus, QueueMessage};
    use busgate_domain::queue::Queue;
    use busgate_domain::store::Store;
    let e = env(&[]).await;
    let now = now();
    // Two callbacks in the dead-letter lane, in the one shape (the queue message itself): one
    // the worker gave up on (dead), one SQS redrive moved there while still pending.
    let dead = Callback::top("CBDEAD", "taobao.bus.item.notify", "p", "{}".into(), "test", now);
    let pending = Callback::top("CBPENDING", "taobao.bus.item.notify", "p", "{}".into(), "test", now);
    let mut dead_record = dead.clone();
    dead_record.status = CallbackStatus::Dead;
    e.store.transact(vec![dead_record.insert(), pending.insert()]).await.unwrap();
    for id in ["CBDEAD", "CBPENDING"] {
        e.queue.send(Lane::Dead, &QueueMessage::Deliver { callback_id: id.into() }.body(), 0).await.unwrap();
    }
    let drained = busgate_edge::outbound::delivery::drain_dead_letters(&e.app, None).await.unwrap();
    assert_eq!((drained.replayed.clone(), drained.removed, drained.left), (vec!["CBDEAD".to_string()], 2, 0));
    assert_eq!(e.queue.depth(Lane::Dead), 0);
    assert_eq!(e.queue.depth(Lane::Main), 2, "both queued for delivery again");
    let record: Callback = e.store.get(&Callback::key("CBDEAD")).await.unwrap().unwrap().decode().unwrap();
    assert_eq!(record.status, CallbackStatus::Pending);
    // Only some ids: the others stay in the lane, visible.
    e.queue.send(Lane::Dead, &QueueMessage::Deliver { callback_id: "CBDEAD".into() }.body(), 0).await.unwrap();
    e.queue.send(Lane::Dead, &QueueMessage::Deliver { callback_id: "CBOTHER".into() }.body(), 0).await.unwrap();
    let only: std::collections::HashSet<String> = ["CBDEAD".to_string()].into();
    let drained = busgate_edge::outbound::delivery::drain_dead_letters(&e.app, Some(&only)).await.unwrap();
    assert_eq!((drained.removed, drained.left), (1, 1));
    let left = e.queue.receive(Lane::Dead, 10, 0).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].body.contains("CBOTHER"));
}
