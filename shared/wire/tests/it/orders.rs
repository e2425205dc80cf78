//! Orders: create, query, confirm, close, expiry, the sweeper and async issue decisions
//! (fliggy-bus.md §2.5, §2.7, §3.5–§3.7, §3.11, §4.2, §8.10), on the memory store.

use std::sync::Arc;

use crate::fixture::orders::{
    self, callbacks, create, decide_issue, expire_due, get_order, list_issuing, list_locked, mismatch, orders_of_departure, refused, state, words,
    IssueOutcome, OrderError, OrderStatus, PassengerType, Reason, RefusalCode, TicketStatus,
};
use crate::fixture::*;
use busgate_domain::catalogue::{stop_departure, ImportOptions};
use busgate_domain::outbox::Callback;
use busgate_domain::store::Store;
use chrono::{Duration, NaiveTime};
use serde_json::{json, Value};

async fn callback(store: &dyn Store, id: &str) -> (String, String, Value) {
    let item = store.get(&Callback::key(id)).await.unwrap().expect("callback stored");
    let cb: Callback = item.decode().unwrap();
    let (method, params) = busgate_wire::callbacks::top_call(&cb.destination).expect("a TOP callback");
    let (name, json) = params.into_iter().next().unwrap();
    (method, name, serde_json::from_str(&json).unwrap())
}

async fn raw_payload(store: &dyn Store, id: &str) -> String {
    let cb: Callback = store.get(&Callback::key(id)).await.unwrap().unwrap().decode().unwrap();
    let (_, params) = busgate_wire::callbacks::top_call(&cb.destination).expect("a TOP callback");
    params[0].1.clone()
}

#[tokio::test]
async fn create_query_confirm_sync_query() {
    let store = store().await;
    let s = store.as_ref();
    let a = create(s, &request("900000000001", 2), now(), &settings()).await.unwrap();
    let agent = a["agentOrderId"].as_str().unwrap().to_string();
    assert!(agent.starts_with("BG221101") && agent.len() == 16, "{agent}");
    assert_eq!(a["alitripOrderId"], "900000000001");
    assert_eq!(a["status"], "1");
    assert_eq!(a["statusDesc"], "等待付款");
    assert_eq!(a["lockExpireTime"], "2022-11-01 10:30:00");
    assert_eq!(a["orderAmount"], 4000);
    assert_eq!(
        a["passengerList"][0],
        json!({"passengerId":"1","passengerName":"乘客0","passengerType":"0","passengerCertificateType":"1","passengerCertificateNo":"110101199001011000",
               "ticketList":[{"ticketId": format!("{agent}-1"),"ticketStatus":"1","ticketPrice":2000,"isRefund":false}]})
    );
    assert_eq!(seats(s, "S72").await, 8);

    let q = orders::query(s, "900000000001", Some(&agent), now() + Duration::minutes(1)).await;
    let q = q.result.unwrap();
    assert_eq!(q["status"], "1");
    assert_eq!(q["scheduleId"], "S72");
    assert_eq!(q["lineId"], "L1");
    assert_eq!(q["startTime"], "2022-11-03 10:00:00");
    assert_eq!(q["fromStationCode"], "SH01");
    assert_eq!(q["toStationCode"], "TJ01");
    assert_eq!(q["lockExpireTime"], "2022-11-01 10:30:00");
    assert!(q.get("agentIssueTime").is_none());

    // A different agentOrderId is order-not-found.
    assert_eq!(orders::query(s, "900000000001", Some("BG0"), now()).await.result, Err(OrderError::NotFound));
    assert_eq!(orders::query(s, "900000000009", None, now()).await.result, Err(OrderError::NotFound));

    let t = now() + Duration::minutes(5);
    let c = orders::confirm(s, "900000000001", Some(&agent), t, &settings()).await.result.unwrap();
    assert_eq!(c["status"], "3");
    assert_eq!(c["statusDesc"], "出票成功");
    assert_eq!(c["agentIssueTime"], "2022-11-01 10:05:00");
    assert_eq!(c["ticketWicket"], "3号检票口");
    assert_eq!(c["fetchTicketSpot"], "上海站北广场");
    assert!(c.get("smsContent").is_none());
    let t1 = &c["passengerList"][0]["ticketList"][0];
    let t2 = &c["passengerList"][1]["ticketList"][0];
    assert_eq!(t1["ticketStatus"], "2");
    assert_eq!(t1["ticketNo"], t1["ticketId"]);
    let pwd = t1["ticketPwd"].as_str().unwrap();
    assert!(pwd.len() == 6 && pwd.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(t2["ticketPwd"], pwd, "one boarding code per order");
    let e1 = t1["eTicketNo"].as_str().unwrap();
    assert!(e1.len() >= 16 && e1.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{e1}");
    assert_ne!(t1["eTicketNo"], t2["eTicketNo"]);

    // A repeat never issues twice: the same codes and time.
    let c2 = orders::confirm(s, "900000000001", None, t + Duration::minutes(3), &settings()).await.result.unwrap();
    assert_eq!(c2, c);

    let q = orders::query(s, "900000000001", None, t + Duration::minutes(10)).await.result.unwrap();
    assert_eq!(q["status"], "3");
    assert_eq!(q["agentIssueTime"], "2022-11-01 10:05:00");
    assert!(q.get("lockExpireTime").is_none());
    assert_eq!(q["passengerList"], c["passengerList"]);
    assert_eq!(seats(s, "S72").await, 8);

    // Close after payment: invalid-state.
    assert_eq!(words(orders::close(s, "900000000001", None, t).await.result), Err(state("订单已支付,请走退票流程")));
    // A retried create, after the issue, still gets the first answer (the order as created).
    assert_eq!(create(s, &request("900000000001", 2), t + Duration::minutes(20), &settings()).await.unwrap(), a);
}

#[tokio::test]
async fn confirm_async_then_decide_success_and_failure() {
    let store = store().await;
    let s = store.as_ref();
    let cfg = async_settings();
    let a = create(s, &request("900000000002", 1), now(), &cfg).await.unwrap();
    let agent = a["agentOrderId"].as_str().unwrap().to_string();
    let t = now() + Duration::minutes(2);
    let c = orders::confirm(s, "900000000002", None, t, &cfg).await.result.unwrap();
    assert_eq!(c["status"], "2");
    assert_eq!(c["statusDesc"], "出票中");
    assert_eq!(c["agentIssueTime"], "2022-11-01 10:02:00");
    let tk = &c["passengerList"][0]["ticketList"][0];
    assert_eq!(tk["ticketStatus"], "1");
    assert!(tk.get("ticketNo").is_none() && tk.get("ticketPwd").is_none() && tk.get("eTicketNo").is_none());
    // Repeats answer 2 with no effect.
    assert_eq!(orders::confirm(s, "900000000002", None, t + Duration::minutes(1), &cfg).await.result.unwrap(), c);
    assert_eq!(list_issuing(s).await.unwrap().len(), 1);
    assert!(list_locked(s).await.unwrap().is_empty());

    let d = decide_issue(s, "900000000002", true, None, None, t + Duration::minutes(3)).await.unwrap();
    assert_eq!(d.outcome, IssueOutcome::Issued);
    assert_eq!(d.status, OrderStatus::Issued);
    assert_eq!(d.callback_ids.len(), 1);
    let order = get_order(s, "900000000002").await.unwrap().unwrap();
    let (method, param, payload) = callback(s, &d.callback_ids[0]).await;
    assert_eq!(method, "taobao.bus.agent.bookticket.confirm");
    assert_eq!(param, "param_agent_confirm_book_r_q");
    let pwd = order.ticket_pwd.clone().unwrap();
    assert_eq!(
        payload,
        json!({"agent_order_id": agent, "bus_inner_order_id":"900000000002","success":true,"fetch_tickets_address":"上海站北广场",
               "fetch_tickets_number": agent, "fetch_tickets_pwd": pwd, "ticket_count":1,"ticket_wicket":"3号检票口","total_price":2000,
               "passenger_info_list":[{"agent_ticket_id": format!("{agent}-1"),"passenger_name":"乘客0","passenger_cert_type":"01","passenger_cert_no":"110101199001011000"}]})
    );
    // Keys in table order.
    let raw = raw_payload(s, &d.callback_ids[0]).await;
    let order_of = |k: &str| raw.find(&format!("\"{k}\"")).unwrap();
    let keys = [
        "agent_order_id",
        "bus_inner_order_id",
        "success",
        "fetch_tickets_address",
        "fetch_tickets_number",
        "fetch_tickets_pwd",
        "ticket_count",
        "ticket_wicket",
        "total_price",
        "passenger_info_list",
    ];
    assert!(keys.windows(2).all(|w| order_of(w[0]) < order_of(w[1])), "{raw}");
    let c = orders::confirm(s, "900000000002", None, t + Duration::minutes(4), &cfg).await.result.unwrap();
    assert_eq!(c["status"], "3");
    assert_eq!(c["agentIssueTime"], "2022-11-01 10:05:00");
    // A second decision is refused.
    assert!(matches!(decide_issue(s, "900000000002", false, None, None, t).await, Err(OrderError::NotIssuing(OrderStatus::Issued))));

    // Failure with a code: 4, seats back, stored failure on confirm.
    create(s, &request("900000000003", 2), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000003", None, t, &cfg).await.result.unwrap();
    assert_eq!(seats(s, "S72").await, 7);
    let d = decide_issue(s, "900000000003", false, Some(RefusalCode::Mismatch), Some("票价错误"), t + Duration::minutes(1)).await.unwrap();
    assert_eq!(d.outcome, IssueOutcome::Failed);
    assert_eq!(seats(s, "S72").await, 9);
    let (_, _, payload) = callback(s, &d.callback_ids[0]).await;
    let agent3 = get_order(s, "900000000003").await.unwrap().unwrap().agent_order_id;
    assert_eq!(
        raw_payload(s, &d.callback_ids[0]).await,
        format!(r#"{{"agent_order_id":"{agent3}","bus_inner_order_id":"900000000003","success":false}}"#)
    );
    assert_eq!(payload["success"], false);
    let q = orders::query(s, "900000000003", None, t).await.result.unwrap();
    assert_eq!(q["status"], "4");
    assert_eq!(q["bookFaildCode"], "1401");
    assert_eq!(q["bookFaildMsg"], "票价错误");
    assert_eq!(q["passengerList"][0]["ticketList"][0]["ticketStatus"], "3");
    assert_eq!(words(orders::confirm(s, "900000000003", None, t, &cfg).await.result), Err(refused(RefusalCode::Mismatch, "票价错误")));
    // Close on 4: success "4", no effect.
    assert_eq!(orders::close(s, "900000000003", None, t).await.result.unwrap()["status"], "4");

    // Failure without a code → invalid-state with the message.
    create(s, &request("900000000004", 1), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000004", None, t, &cfg).await.result.unwrap();
    decide_issue(s, "900000000004", false, None, Some("系统故障"), t).await.unwrap();
    assert_eq!(words(orders::confirm(s, "900000000004", None, t, &cfg).await.result), Err(state("系统故障")));
}

#[tokio::test]
async fn decide_issue_success_on_a_stopped_departure_fails_with_1102() {
    let store = store().await;
    let s = store.as_ref();
    let cfg = async_settings();
    create(s, &request("900000000005", 3), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000005", None, now(), &cfg).await.result.unwrap();
    stop_departure(s, "S72", "车辆故障", now(), &ImportOptions::default()).await.unwrap();
    let d = decide_issue(s, "900000000005", true, None, None, now() + Duration::minutes(1)).await.unwrap();
    assert_eq!(d.outcome, IssueOutcome::Failed);
    let o = get_order(s, "900000000005").await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Closed);
    assert_eq!(o.book_fail_code, Some(RefusalCode::Stopped));
    assert_eq!(seats(s, "S72").await, 10);
    let (_, _, payload) = callback(s, &d.callback_ids[0]).await;
    assert_eq!(payload["success"], false);
}

#[tokio::test]
async fn confirm_on_a_stopped_departure_answers_1102_and_releases_seats() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("900000000006", 2), now(), &settings()).await.unwrap();
    assert_eq!(seats(s, "S72").await, 8);
    stop_departure(s, "S72", "车辆故障", now(), &ImportOptions::default()).await.unwrap();
    let r = orders::confirm(s, "900000000006", None, now() + Duration::minutes(1), &settings()).await;
    assert_eq!(words(r.result), Err(refused(RefusalCode::Stopped, "班次停运")));
    assert_eq!(seats(s, "S72").await, 10);
    let q = orders::query(s, "900000000006", None, now()).await.result.unwrap();
    assert_eq!(q["status"], "4");
    assert_eq!(q["statusDesc"], "订单关闭");
    assert_eq!(q["bookFaildCode"], "1102");
    assert_eq!(q["bookFaildMsg"], "班次停运");
    // Repeats: the stored failure, seats not released twice.
    assert_eq!(words(orders::confirm(s, "900000000006", None, now(), &settings()).await.result), Err(refused(RefusalCode::Stopped, "班次停运")));
    assert_eq!(seats(s, "S72").await, 10);
}

#[tokio::test]
async fn create_close_releases_seats() {
    let store = store().await;
    let s = store.as_ref();
    let a = create(s, &request("900000000010", 3), now(), &settings()).await.unwrap();
    assert_eq!(seats(s, "S72").await, 7);
    let c = orders::close(s, "900000000010", a["agentOrderId"].as_str(), now() + Duration::minutes(1)).await.result.unwrap();
    assert_eq!(c["status"], "5");
    assert_eq!(c["statusDesc"], "订单取消");
    assert_eq!(c["agentOrderId"], a["agentOrderId"]);
    assert_eq!(seats(s, "S72").await, 10);
    // Again: success, no effect.
    assert_eq!(orders::close(s, "900000000010", None, now() + Duration::minutes(2)).await.result.unwrap(), c);
    assert_eq!(seats(s, "S72").await, 10);
    // Confirm after close: invalid-state 订单已取消.
    assert_eq!(words(orders::confirm(s, "900000000010", None, now(), &settings()).await.result), Err(state("订单已取消")));
    let q = orders::query(s, "900000000010", None, now()).await.result.unwrap();
    assert_eq!(q["passengerList"][2]["ticketList"][0]["ticketStatus"], "3");
    // Unknown order: not found.
    assert_eq!(orders::close(s, "1", None, now()).await.result, Err(OrderError::NotFound));
    // A repeated create still answers the stored (status 1) answer, locking nothing.
    assert_eq!(create(s, &request("900000000010", 3), now(), &settings()).await.unwrap(), a);
    assert_eq!(seats(s, "S72").await, 10);
}

#[tokio::test]
async fn lazy_expiry_and_the_sweeper() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("900000000020", 2), now(), &settings()).await.unwrap();
    create(s, &request("900000000021", 1), now() + Duration::minutes(10), &settings()).await.unwrap();
    assert_eq!(seats(s, "S72").await, 7);
    // Just before the lock ends nothing happens; at lockExpireTime the order is cancelled.
    let before = now() + Duration::minutes(30) - Duration::seconds(1);
    assert_eq!(orders::query(s, "900000000020", None, before).await.result.unwrap()["status"], "1");
    let r = orders::query(s, "900000000020", None, now() + Duration::minutes(30)).await;
    let q = r.result.unwrap();
    assert_eq!(q["status"], "5");
    assert!(r.callback_ids.is_empty());
    assert_eq!(q["passengerList"][0]["ticketList"][0]["ticketStatus"], "3");
    assert_eq!(seats(s, "S72").await, 9);
    // Confirm on an expired lock: invalid-state.
    assert_eq!(words(orders::confirm(s, "900000000020", None, now() + Duration::minutes(31), &settings()).await.result), Err(state("订单已取消")));

    // The sweeper: nothing due yet, then the second lock.
    assert_eq!(expire_due(s, now() + Duration::minutes(39)).await.unwrap().total(), 0);
    let rep = expire_due(s, now() + Duration::minutes(40)).await.unwrap();
    assert_eq!(rep.locks_expired, 1);
    assert_eq!(seats(s, "S72").await, 10);
    assert_eq!(get_order(s, "900000000021").await.unwrap().unwrap().status, OrderStatus::Cancelled);
    assert!(list_locked(s).await.unwrap().is_empty());
    assert_eq!(expire_due(s, now() + Duration::minutes(50)).await.unwrap().total(), 0);
}

#[tokio::test]
async fn async_issue_deadline_lazy_and_swept() {
    let store = store().await;
    let s = store.as_ref();
    let cfg = async_settings();
    create(s, &request("900000000030", 1), now(), &cfg).await.unwrap();
    create(s, &request("900000000031", 1), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000030", None, now() + Duration::minutes(1), &cfg).await.result.unwrap();
    orders::confirm(s, "900000000031", None, now() + Duration::minutes(2), &cfg).await.result.unwrap();
    // The lock does not matter any more once paid.
    assert_eq!(expire_due(s, now() + Duration::minutes(10)).await.unwrap().total(), 0);
    let rep = expire_due(s, now() + Duration::minutes(11)).await.unwrap();
    assert_eq!(rep.issues_timed_out, 1);
    assert_eq!(rep.callback_ids.len(), 1);
    let (_, _, payload) = callback(s, &rep.callback_ids[0]).await;
    assert_eq!(payload["success"], false);
    assert_eq!(payload["bus_inner_order_id"], "900000000030");
    let q = orders::query(s, "900000000030", None, now() + Duration::minutes(11)).await.result.unwrap();
    assert_eq!(q["status"], "4");
    assert_eq!(q["bookFaildMsg"], "出票超时");
    assert!(q.get("bookFaildCode").is_none());
    assert_eq!(seats(s, "S72").await, 9);
    assert_eq!(words(orders::confirm(s, "900000000030", None, now() + Duration::minutes(12), &cfg).await.result), Err(state("出票超时")));

    // A late decision times out instead of issuing.
    let d = decide_issue(s, "900000000031", true, None, None, now() + Duration::minutes(12)).await.unwrap();
    assert_eq!(d.outcome, IssueOutcome::TimedOut);
    assert_eq!(d.callback_ids.len(), 1);
    assert_eq!(get_order(s, "900000000031").await.unwrap().unwrap().book_fail, Some(Reason::IssueTimedOut));
    assert_eq!(seats(s, "S72").await, 10);
    assert!(list_issuing(s).await.unwrap().is_empty());
}

#[tokio::test]
async fn query_touching_an_overdue_async_issue_writes_its_callback() {
    let store = store().await;
    let s = store.as_ref();
    let cfg = async_settings();
    create(s, &request("900000000032", 1), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000032", None, now(), &cfg).await.result.unwrap();
    let r = orders::query(s, "900000000032", None, now() + Duration::minutes(10)).await;
    assert_eq!(r.result.unwrap()["status"], "4");
    assert_eq!(r.callback_ids.len(), 1);
}

#[tokio::test]
async fn a_lock_never_outlives_its_departure() {
    let store = store().await;
    let s = store.as_ref();
    // SSOON leaves at 10:20, presellTime 0: a create at 10:05 holds until 10:20, not 10:35.
    let mut r = request_sw("900000000040", 1);
    r.schedule_id = "SSOON".into();
    r.from_date = chrono::NaiveDate::from_ymd_opt(2022, 11, 1).unwrap();
    r.from_time = NaiveTime::from_hms_opt(10, 20, 0).unwrap();
    let a = create(s, &r, now() + Duration::minutes(5), &settings()).await.unwrap();
    assert_eq!(a["lockExpireTime"], "2022-11-01 10:20:00");
}

#[tokio::test]
async fn sync_confirm_with_driver_phone_sends_sms_content() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request_sw("900000000041", 1), now(), &settings()).await.unwrap();
    let c = orders::confirm(s, "900000000041", None, now(), &settings()).await.result.unwrap();
    let pwd = c["passengerList"][0]["ticketList"][0]["ticketPwd"].as_str().unwrap();
    assert_eq!(c["smsContent"], format!(r#"{{"driverContactPhone":"4008001234","identificationCode":"{pwd}"}}"#));
    // The order keeps the phone, not the text; the issue callback's `message` is the same text.
    let order = get_order(s, "900000000041").await.unwrap().unwrap();
    assert_eq!((order.driver_contact_phone.as_deref(), order.sms_content.as_deref()), (Some("4008001234"), None));
    let payload: Value = serde_json::from_str(&busgate_wire::callbacks::book_confirm_payload(&order, true)).unwrap();
    assert_eq!(payload["message"], c["smsContent"]);
    // An order issued before kept the rendered text: it is shown as it was.
    let mut earlier = order.clone();
    earlier.driver_contact_phone = None;
    earlier.sms_content = Some(r#"{"driverContactPhone":"021-1","identificationCode":"X"}"#.into());
    assert_eq!(busgate_wire::orders::sms_content(&earlier).as_deref(), Some(r#"{"driverContactPhone":"021-1","identificationCode":"X"}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_create_concurrent_twins_and_different_body() {
    let store = store().await;
    let shared = Arc::new(busgate_domain::store::Counting::new(Yielding(store.clone())));
    let mut handles = Vec::new();
    for _ in 0..5 {
        let st = shared.clone();
        handles.push(tokio::spawn(async move { create(st.as_ref(), &request("900000000050", 1), now(), &settings()).await }));
    }
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap().unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // Whatever the interleaving, one write took effect and the others read its answer.
    assert!(shared.calls.transactions.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(seats(store.as_ref(), "S72").await, 9);
    assert_eq!(orders_of_departure(store.as_ref(), "S72").await.unwrap().len(), 1);

    // Same booking, other stored-only fields (§8.2): the stored answer.
    let mut same = request("900000000050", 1);
    same.info.insert("alipayTradeNo".into(), "2030".into());
    same.ticket_amount = None;
    assert_eq!(create(store.as_ref(), &same, now() + Duration::minutes(1), &settings()).await.unwrap(), answers[0]);
    // Different booking: invalid-parameter, nothing changes.
    let mut other = request("900000000050", 1);
    other.passengers[0].name = "李四".into();
    assert_eq!(
        create(store.as_ref(), &other, now(), &settings()).await,
        Err(OrderError::Invalid { path: "alitripOrderId".into(), problem: "already used with a different request".into() })
    );
    assert_eq!(seats(store.as_ref(), "S72").await, 9);
}

#[tokio::test]
async fn fingerprint_normalises_times_and_id_letters() {
    let mut a = request("1", 1);
    a.passengers[0].cert_no = "11010119900101123x".into();
    let mut b = a.clone();
    b.passengers[0].cert_no = "11010119900101123X".into();
    b.info.insert("goodsId".into(), "G1".into());
    assert_eq!(a.fingerprint(), b.fingerprint());
    let json = a.canonical_json();
    assert!(json.starts_with(r#"{"fromDate":"2022-11-03","fromStationCode":"SH01","fromTime":"10:00:00","lineId":"L1","orderAmount":2000,"passengerList":[{"passengerCertificateNo":"11010119900101123X","#), "{json}");
    b.passengers[0].passenger_type = None;
    assert_ne!(a.fingerprint(), b.fingerprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_on_forty_seats() {
    let store = store().await;
    let shared = Arc::new(busgate_domain::store::Counting::new(Yielding(store.clone())));
    let mut handles = Vec::new();
    for i in 0..200 {
        let st = shared.clone();
        handles.push(tokio::spawn(async move {
            let r = request_on("S40", &format!("91{i:08}"), 1, (12, 0));
            create(st.as_ref(), &r, now(), &settings()).await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(OrderError::Refused { code: RefusalCode::NotEnoughSeats, detail: None }) => full += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, full), (40, 160));
    // Some writes lost the seat race and were decided again.
    assert!(shared.calls.transactions.load(std::sync::atomic::Ordering::SeqCst) > 200);
    assert_eq!(seats(store.as_ref(), "S40").await, 0);
    assert_eq!(orders_of_departure(store.as_ref(), "S40").await.unwrap().len(), 40);
}

#[tokio::test]
async fn refusals_1114_1102_1401_1104_in_check_order_and_stored() {
    let store = store().await;
    let s = store.as_ref();
    let cfg = settings();
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        format!("92{n:08}")
    };

    // 1114.
    let mut r = request(&next(), 1);
    r.schedule_id = "NOPE".into();
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(refused(RefusalCode::UnknownSchedule, "查询不到班次")));
    let mut r = request(&next(), 1);
    r.line_id = Some("L2".into());
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(refused(RefusalCode::UnknownSchedule, "查询不到班次")));
    // 1102 comes before the time check.
    let mut r = request_on("SSTOP", &next(), 1, (9, 0));
    r.from_time = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(refused(RefusalCode::Stopped, "班次停运")));
    // Not on sale: before the presale opens, and after sales close.
    let mut r = request_on("SFAR", &next(), 1, (10, 0));
    r.from_date = chrono::NaiveDate::from_ymd_opt(2022, 11, 20).unwrap();
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("不在售票时间内")));
    assert_eq!(words(create(s, &request(&next(), 1), d72() - Duration::minutes(30), &cfg).await), Err(mismatch("不在售票时间内")));
    assert!(create(s, &request(&next(), 1), d72() - Duration::minutes(31), &cfg).await.is_ok());
    // Date/time.
    let mut r = request(&next(), 1);
    r.from_time = NaiveTime::from_hms_opt(10, 0, 1).unwrap();
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("发车时间已变更")));
    let mut r = request(&next(), 1);
    r.from_date = chrono::NaiveDate::from_ymd_opt(2022, 11, 4).unwrap();
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("发车时间已变更")));
    // Segment.
    let mut r = request(&next(), 1);
    r.from_station_code = Some("XX".into());
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("上车站XX不存在")));
    let mut r = request(&next(), 1);
    r.from_station_code = Some("TJ01".into());
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("TJ01不可上车")));
    let mut r = request(&next(), 1);
    r.to_station_code = Some("SH02".into());
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("SH02不可下车")));
    // Custom addresses of the area station: missing → invalid-parameter (not stored), outside → 1401.
    let mut r = request(&next(), 1);
    r.from_station_code = Some("SH02".into());
    r.order_amount = 1800;
    r.passengers[0].ticket_price = Some(1800);
    let id_missing = r.alitrip_order_id.clone();
    assert_eq!(
        create(s, &r, now(), &cfg).await,
        Err(OrderError::Invalid { path: "customDepartureAddress".into(), problem: "required: station SH02 is an area".into() })
    );
    r.custom_departure.address = Some("虹桥路1号".into());
    r.custom_departure.longitude = Some("121.35".into());
    r.custom_departure.latitude = Some("31.19".into());
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("上车地址不在服务范围内")));
    // The first request was not stored; the 1401 one is.
    let mut inside = r.clone();
    inside.alitrip_order_id = next();
    inside.custom_departure.longitude = Some("121.34".into()); // on the boundary: inside
    let ok = create(s, &inside, now(), &cfg).await.unwrap();
    assert_eq!(ok["orderAmount"], 1800);
    let o = get_order(s, &inside.alitrip_order_id).await.unwrap().unwrap();
    assert_eq!(o.custom_departure.as_ref().unwrap().longitude, "121.34");
    assert_eq!(o.from_station_code, "SH02");
    assert!(get_order(s, &id_missing).await.unwrap().is_none());
    // Certificate type not accepted on the line.
    let mut r = request(&next(), 1);
    r.passengers[0].cert_type = "3".into();
    r.passengers[0].cert_no = "E1234567".into();
    assert_eq!(
        create(s, &r, now(), &cfg).await,
        Err(OrderError::Invalid {
            path: "passengerList[0].passengerCertificateType".into(),
            problem: "3 is not accepted on this line (accepted: 1,2)".into()
        })
    );
    // No child fare on SH02 → TJ01.
    let mut r = inside.clone();
    r.alitrip_order_id = next();
    r.passengers[0].passenger_type = Some(PassengerType::Child);
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("该区间无儿童票")));
    // Child fare elsewhere: 1000.
    let mut r = request(&next(), 2);
    r.passengers[1].passenger_type = Some(PassengerType::Child);
    r.passengers[1].ticket_price = Some(1000);
    r.order_amount = 3000;
    let a = create(s, &r, now(), &cfg).await.unwrap();
    assert_eq!(a["passengerList"][1]["passengerType"], "1");
    assert_eq!(a["passengerList"][1]["ticketList"][0]["ticketPrice"], 1000);
    // Fares.
    let mut r = request(&next(), 1);
    r.passengers[0].ticket_price = Some(1999);
    r.order_amount = 1999;
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("价格已变更")));
    let mut r = request(&next(), 1);
    r.order_amount = 2001;
    assert_eq!(words(create(s, &r, now(), &cfg).await), Err(mismatch("价格已变更")));
    // 1104, stored: it stays 1104 after seats come back.
    assert_eq!(seats(s, "S72").await, 6);
    let big = request(&next(), 7);
    assert_eq!(words(create(s, &big, now(), &cfg).await), Err(refused(RefusalCode::NotEnoughSeats, "余票不足")));
    let q = orders::query(s, &big.alitrip_order_id, None, now()).await;
    assert_eq!(q.result, Err(OrderError::NotFound));
    orders::close(s, ok["alitripOrderId"].as_str().unwrap(), None, now()).await.result.unwrap();
    assert_eq!(seats(s, "S72").await, 7);
    assert_eq!(words(create(s, &big, now(), &cfg).await), Err(refused(RefusalCode::NotEnoughSeats, "余票不足")));
    assert_eq!(seats(s, "S72").await, 7);
    // A stored refusal with a different body: invalid-parameter.
    let mut other = big.clone();
    other.ticket_count = 1;
    other.passengers.truncate(1);
    other.order_amount = 2000;
    assert!(matches!(create(s, &other, now(), &cfg).await, Err(OrderError::Invalid { .. })));
}

#[tokio::test]
async fn callbacks_fen_to_yuan_table() {
    for (fen, yuan) in
        [(1050, "10.5"), (1000, "10"), (1, "0.01"), (5, "0.05"), (1805, "18.05"), (0, "0"), (10, "0.1"), (99, "0.99"), (123456, "1234.56")]
    {
        assert_eq!(callbacks::fen_to_yuan(fen), yuan, "{fen}");
    }
}

#[tokio::test]
async fn tickets_and_statuses_round_trip() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("900000000060", 1), now(), &settings()).await.unwrap();
    let o = get_order(s, "900000000060").await.unwrap().unwrap();
    assert_eq!(o.passengers[0].ticket.status, TicketStatus::Pending);
    assert_eq!(o.lock_expire_at, now() + Duration::minutes(30));
    assert_eq!(o.departure_at, d72());
    let arc: Arc<dyn Store> = store.clone();
    assert_eq!(orders::orders_created_on(arc.as_ref(), chrono::NaiveDate::from_ymd_opt(2022, 11, 1).unwrap()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_order_stored_with_its_create_answer_still_reads() {
    // Orders written before the create answer was rendered from the order kept it as JSON text.
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("900000000099", 1), now(), &settings()).await.unwrap();
    let order = get_order(s, "900000000099").await.unwrap().expect("stored");
    let mut v = serde_json::to_value(&order).unwrap();
    v["createAnswer"] = Value::String(r#"{"status":"1"}"#.into());
    let earlier: orders::Order = serde_json::from_value(v).unwrap();
    assert_eq!(earlier, order);
}

#[tokio::test]
async fn an_issue_callback_holds_the_order_as_decided_and_renders_the_same_on_every_retry() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("900000000098", 1), now(), &settings()).await.unwrap();
    let cfg = orders::Settings { async_issue: true, ..settings() };
    orders::confirm(s, "900000000098", None, now(), &cfg).await.result.unwrap();
    let d = decide_issue(s, "900000000098", true, None, None, now() + Duration::minutes(1)).await.unwrap();
    let item = s.get(&Callback::key(&d.callback_ids[0])).await.unwrap().unwrap();
    let stored: Callback = item.decode().unwrap();
    // In the business's terms: what was decided, with the order as it stood then.
    let busgate_domain::outbox::Destination::Bus { callback: busgate_domain::outbox::BusCallback::Issue { order, success } } = &stored.destination
    else {
        panic!("not an issue callback: {:?}", stored.destination)
    };
    assert!(*success);
    assert_eq!(**order, get_order(s, "900000000098").await.unwrap().unwrap());
    assert_eq!(order.status, OrderStatus::Issued);
    // Rendered at each attempt, the same bytes each time.
    assert_eq!(raw_payload(s, &d.callback_ids[0]).await, raw_payload(s, &d.callback_ids[0]).await);
    assert_eq!(
        busgate_wire::callbacks::method(&busgate_domain::outbox::BusCallback::Issue { order: order.clone(), success: true }),
        "taobao.bus.agent.bookticket.confirm"
    );
}

#[tokio::test]
async fn a_bus_callback_committed_as_a_top_call_still_reads_and_is_sent_as_stored() {
    // Callbacks committed before bus callbacks were typed hold the rendered TOP call.
    let json = r#"{"id":"CB20221101100000AAAAAAAAAAAAAAAA","destination":{"to":"top","method":"taobao.bus.agent.bookticket.confirm",
        "params":[["param_agent_confirm_book_r_q","{\"agent_order_id\":\"BG1\",\"bus_inner_order_id\":\"900000000097\",\"success\":false}"]]},
        "subject":"order 900000000097","created_at":"2022-11-01T02:00:00Z","status":"pending","attempts":0}"#;
    let cb: Callback = serde_json::from_str(json).unwrap();
    let (method, params) = busgate_wire::callbacks::top_call(&cb.destination).unwrap();
    assert_eq!(method, "taobao.bus.agent.bookticket.confirm");
    assert_eq!(
        params,
        vec![(
            "param_agent_confirm_book_r_q".to_string(),
            r#"{"agent_order_id":"BG1","bus_inner_order_id":"900000000097","success":false}"#.to_string()
        )]
    );
}

#[test]
fn departures_changed_renders_as_item_notify() {
    let cb = busgate_domain::outbox::BusCallback::DeparturesChanged {
        from_city: "上海市".into(),
        to_city: "南京市".into(),
        date: chrono::NaiveDate::from_ymd_opt(2022, 11, 3).unwrap(),
    };
    let (method, params) = busgate_wire::callbacks::render(&cb);
    assert_eq!(method, "taobao.bus.item.notify");
    assert_eq!(
        params,
        vec![("param_top_item_change_notify_r_q".to_string(), r#"{"from_city":"上海市","to_city":"南京市","from_date":"2022-11-03"}"#.to_string())]
    );
}
