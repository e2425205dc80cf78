//! Refunds: fee, apply (sync and async), decisions and refund.confirm, operator money
//! refunds, counter refunds and stopped departures (fliggy-bus.md §3.8, §3.9, §4.3, §4.4,
//! §8.3–§8.6), on the memory store.

use crate::fixture::orders::{
    self, apply_refund, create, decide_refund, get_order, list_pending_refunds, money_refund, offline_refund, refund_stopped_departure, refused,
    state, words, ForceReason, OrderError, OrderStatus, RefundApplyRequest, RefundEntry, RefundState, RefusalCode, Settings, TicketStatus,
};
use crate::fixture::*;
use busgate_domain::catalogue::{stop_departure, ImportOptions};
use busgate_domain::outbox::Callback;
use busgate_domain::store::Store;
use busgate_wire::fliggy::Failure;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

async fn payload(store: &dyn Store, id: &str) -> (String, String) {
    let cb: Callback = store.get(&Callback::key(id)).await.unwrap().expect("callback").decode().unwrap();
    let (method, params) = busgate_wire::callbacks::top_call(&cb.destination).expect("a TOP callback");
    (method, params[0].1.clone())
}

/// Creates and issues (sync) an order of `n` tickets on S72; returns its agentOrderId.
async fn issued(store: &dyn Store, id: &str, n: usize) -> String {
    let a = create(store, &request(id, n), now(), &Settings::default()).await.unwrap();
    orders::confirm(store, id, None, now(), &Settings::default()).await.result.unwrap();
    a["agentOrderId"].as_str().unwrap().to_string()
}

fn by_ticket(id: &str, tickets: &[String]) -> RefundApplyRequest {
    RefundApplyRequest {
        alitrip_order_id: id.into(),
        entries: tickets
            .iter()
            .enumerate()
            .map(|(i, t)| RefundEntry { path: format!("passengerList[{i}]"), ticket_id: Some(t.clone()), ..Default::default() })
            .collect(),
        ..Default::default()
    }
}

async fn fee_at(store: &dyn Store, id: &str, t: DateTime<Utc>) -> Map<String, Value> {
    orders::fee(store, id, None, t).await.result.unwrap()
}

#[tokio::test]
async fn fee_tiers_at_their_boundaries() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "800000000001", 1).await;
    let d = d72();
    let ms = Duration::milliseconds(1);
    let cases: [(DateTime<Utc>, i64, Option<&str>); 9] = [
        (d - Duration::hours(48), 0, None),
        (d - Duration::hours(48) + ms, 100, None),
        (d - Duration::hours(24), 100, None),
        (d - Duration::hours(24) + ms, 200, None),
        (d - Duration::hours(6), 200, None),
        (d - Duration::hours(6) + ms, 500, None),
        (d - Duration::hours(3), 500, None),
        (d - Duration::hours(3) + ms, 2000, Some("发车前3小时内不可退票")),
        (d + ms, 2000, Some("已发车,不可退票")),
    ];
    for (t, surcharge, desc) in cases {
        let f = fee_at(s, "800000000001", t).await;
        assert_eq!(f["agentOrderId"], agent.as_str());
        assert_eq!(f["refundMode"], "ticket");
        let e = &f["passengerList"][0];
        assert_eq!(e["refundSurcharge"], surcharge, "at {t}");
        assert_eq!(e["refundable"], desc.is_none());
        assert_eq!(e["refundAmount"], if desc.is_none() { 2000 - surcharge } else { 0 });
        assert_eq!(e.get("refundDesc").and_then(Value::as_str), desc);
        assert_eq!(e["ticketId"], format!("{agent}-1"));
        assert_eq!(e["passengerCertificateType"], "1");
        assert_eq!(e["ticketPrice"], 2000);
    }
    // Departure exactly now: h = 0, the 0–3 h tier.
    assert_eq!(fee_at(s, "800000000001", d).await["passengerList"][0]["refundDesc"], "发车前3小时内不可退票");
}

#[tokio::test]
async fn fee_and_apply_on_unissued_or_cancelled_orders() {
    let store = store().await;
    let s = store.as_ref();
    create(s, &request("800000000002", 1), now(), &Settings::default()).await.unwrap();
    assert_eq!(words(orders::fee(s, "800000000002", None, now()).await.result), Err(state("订单未出票")));
    let req = by_ticket("800000000002", &["X".into()]);
    assert_eq!(words(apply_refund(s, &req, now(), &Settings::default()).await.result), Err(state("订单未出票")));
    orders::close(s, "800000000002", None, now()).await.result.unwrap();
    assert_eq!(words(apply_refund(s, &req, now(), &Settings::default()).await.result), Err(state("订单已取消")));
    assert_eq!(words(orders::fee(s, "800000000002", None, now()).await.result), Err(state("订单未出票")));
    assert_eq!(apply_refund(s, &by_ticket("1", &[]), now(), &Settings::default()).await.result, Err(OrderError::NotFound));
    let mut wrong_agent = by_ticket("800000000002", &["X".into()]);
    wrong_agent.agent_order_id = Some("BG000".into());
    assert_eq!(apply_refund(s, &wrong_agent, now(), &Settings::default()).await.result, Err(OrderError::NotFound));
}

#[tokio::test]
async fn apply_per_ticket_partial_then_the_rest_and_repeats() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "800000000003", 3).await;
    let t = |i: u32| format!("{agent}-{i}");
    assert_eq!(seats(s, "S72").await, 7);
    let at = now(); // 48 h before D: free.
    let at10 = d72() - Duration::hours(10); // 10 %.

    // One ticket.
    let r1 = apply_refund(s, &by_ticket("800000000003", &[t(1)]), at10, &Settings::default()).await.result.unwrap();
    let rid1 = r1["refundId"].as_str().unwrap().to_string();
    assert!(rid1.starts_with("RF221103") && rid1.len() == 16, "{rid1}");
    assert_eq!(r1["status"], "3");
    assert_eq!(r1["totalRefundAmount"], 1800);
    assert_eq!(r1["passengerList"], json!([{"ticketId": t(1), "passengerId":"1","ticketStatus":"5","refundSurcharge":200,"refundAmount":1800}]));
    assert_eq!(seats(s, "S72").await, 8);
    // Repeat: the stored answer, no second refund.
    assert_eq!(apply_refund(s, &by_ticket("800000000003", &[t(1)]), at, &Settings::default()).await.result.unwrap(), r1);
    assert_eq!(seats(s, "S72").await, 8);
    // The refunded ticket with another: invalid-state 已退票.
    assert_eq!(words(apply_refund(s, &by_ticket("800000000003", &[t(1), t(2)]), at, &Settings::default()).await.result), Err(state("已退票")));
    // Query shows it.
    let q = orders::query(s, "800000000003", None, at).await.result.unwrap();
    let tk = &q["passengerList"][0]["ticketList"][0];
    assert_eq!(tk["ticketStatus"], "5");
    assert_eq!(tk["isRefund"], true);
    assert_eq!(tk["refundSurcharge"], 200);
    assert_eq!(tk["refundAmount"], 1800);
    assert_eq!(tk["ticketNo"], t(1));
    // Fee shows the recorded refund.
    let f = fee_at(s, "800000000003", at).await;
    assert_eq!(f["passengerList"][0]["refundDesc"], "已退票");
    assert_eq!(f["passengerList"][0]["refundAmount"], 1800);
    assert_eq!(f["passengerList"][1]["refundable"], true);

    // The rest, by passengerId and by certificate; surcharge shown matches (free now).
    let req = RefundApplyRequest {
        alitrip_order_id: "800000000003".into(),
        agent_order_id: Some(agent.clone()),
        entries: vec![
            RefundEntry { path: "passengerList[0]".into(), passenger_id: Some("3".into()), refund_surcharge: Some(0), ..Default::default() },
            RefundEntry {
                path: "passengerList[1]".into(),
                cert_type: Some("1".into()),
                cert_no: Some("110101199001011001".into()),
                ..Default::default()
            },
        ],
        reason: Some("行程变更".into()),
    };
    let r2 = apply_refund(s, &req, at, &Settings::default()).await.result.unwrap();
    assert_eq!(r2["status"], "11");
    assert_eq!(r2["totalRefundAmount"], 4000);
    assert_eq!(r2["passengerList"][0]["ticketId"], t(2), "passenger order");
    assert_eq!(seats(s, "S72").await, 10);
    // §8.3: the first refund's repeat now shows order status 11.
    let again = apply_refund(s, &by_ticket("800000000003", &[t(1)]), at, &Settings::default()).await.result.unwrap();
    assert_eq!(again["refundId"], rid1.as_str());
    assert_eq!(again["status"], "11");
    assert_eq!(again["totalRefundAmount"], 1800);
    let o = get_order(s, "800000000003").await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Refunded);
    assert_eq!(o.refunds.len(), 2);
}

#[tokio::test]
async fn apply_refusals_in_check_order() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "800000000004", 2).await;
    let t = |i: u32| format!("{agent}-{i}");
    let cfg = Settings::default();
    let id = "800000000004";
    // Unknown ticket, ticket named twice, no list on a per-ticket line.
    assert_eq!(
        apply_refund(s, &by_ticket(id, &["BG-9".into()]), now(), &cfg).await.result,
        Err(OrderError::Invalid { path: "passengerList[0].ticketId".into(), problem: "matches no ticket of this order".into() })
    );
    assert_eq!(
        apply_refund(s, &by_ticket(id, &[t(1), t(1)]), now(), &cfg).await.result,
        Err(OrderError::Invalid { path: "passengerList[1]".into(), problem: "ticket named twice".into() })
    );
    assert_eq!(
        apply_refund(s, &by_ticket(id, &[]), now(), &cfg).await.result,
        Err(OrderError::Invalid { path: "passengerList".into(), problem: "required".into() })
    );
    // Not refundable windows.
    assert_eq!(words(apply_refund(s, &by_ticket(id, &[t(1)]), d72() - Duration::hours(2), &cfg).await.result), Err(state("发车前3小时内不可退票")));
    assert_eq!(words(apply_refund(s, &by_ticket(id, &[t(1)]), d72() + Duration::minutes(1), &cfg).await.result), Err(state("已发车,不可退票")));
    // Surcharge shown differs from now: 1401 with the bare text.
    let mut req = by_ticket(id, &[t(1)]);
    req.entries[0].refund_surcharge = Some(100);
    assert_eq!(
        words(apply_refund(s, &req, d72() - Duration::hours(10), &cfg).await.result),
        Err(refused(RefusalCode::Mismatch, "退票手续费已变更,请重新查询"))
    );
    assert_eq!(seats(s, "S72").await, 8, "nothing changed");
    // Passenger id matching several tickets is impossible; a wrong one matches none.
    let req = RefundApplyRequest {
        alitrip_order_id: id.into(),
        entries: vec![RefundEntry { path: "passengerList[0]".into(), passenger_id: Some("7".into()), ..Default::default() }],
        ..Default::default()
    };
    assert!(matches!(apply_refund(s, &req, now(), &cfg).await.result, Err(OrderError::Invalid { .. })));
}

#[tokio::test]
async fn whole_order_line() {
    let store = store().await;
    let s = store.as_ref();
    let a = create(s, &request_sw("800000000005", 2), now(), &Settings::default()).await.unwrap();
    let agent = a["agentOrderId"].as_str().unwrap().to_string();
    orders::confirm(s, "800000000005", None, now(), &Settings::default()).await.result.unwrap();
    assert_eq!(fee_at(s, "800000000005", now()).await["refundMode"], "order");
    assert_eq!(seats(s, "SW").await, 18);
    // One ticket only: refused.
    assert_eq!(
        words(apply_refund(s, &by_ticket("800000000005", &[format!("{agent}-1")]), now(), &Settings::default()).await.result),
        Err(Failure::invalid("passengerList: 该线路仅支持整单退"))
    );
    // No list: every valid ticket. 5 % tier (D 2022-11-03 12:00, 26 h later).
    let at = now() + Duration::hours(24);
    let r = apply_refund(s, &by_ticket("800000000005", &[]), at, &Settings::default()).await.result.unwrap();
    assert_eq!(r["status"], "11");
    assert_eq!(r["totalRefundAmount"], 9500);
    assert_eq!(r["passengerList"][1]["refundSurcharge"], 250);
    assert_eq!(seats(s, "SW").await, 20);
    // Any later request is the repeat.
    let again = apply_refund(s, &by_ticket("800000000005", &[format!("{agent}-2"), format!("{agent}-1")]), at, &Settings::default()).await;
    assert_eq!(again.result.unwrap(), r);
}

#[tokio::test]
async fn async_refund_decided_success_with_callback() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "900000000006", 2).await;
    let cfg = Settings { async_refund: true, ..Settings::default() };
    let at = d72() - Duration::hours(10);
    let r = apply_refund(s, &by_ticket("900000000006", &[format!("{agent}-1")]), at, &cfg).await.result.unwrap();
    assert_eq!(r["status"], "9");
    assert_eq!(r["passengerList"][0]["ticketStatus"], "4");
    assert_eq!(seats(s, "S72").await, 8, "seats wait for the decision");
    let rid = r["refundId"].as_str().unwrap().to_string();
    let pending = list_pending_refunds(s).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].refund_id, rid);
    // Query: 9, the ticket 4 with its fee and amount, not yet isRefund.
    let q = orders::query(s, "900000000006", None, at).await.result.unwrap();
    assert_eq!(q["status"], "9");
    assert_eq!(q["statusDesc"], "退票中");
    let tk = &q["passengerList"][0]["ticketList"][0];
    assert_eq!((tk["ticketStatus"].as_str(), tk["isRefund"].as_bool(), tk["refundAmount"].as_i64()), (Some("4"), Some(false), Some(1800)));
    // Fee shows 退票中; a repeat is the stored answer; the other ticket is still refundable.
    assert_eq!(fee_at(s, "900000000006", at).await["passengerList"][0]["refundDesc"], "退票中");
    assert_eq!(apply_refund(s, &by_ticket("900000000006", &[format!("{agent}-1")]), at, &cfg).await.result.unwrap(), r);

    let decided_at = at + Duration::minutes(5);
    let d = decide_refund(s, &rid, true, None, decided_at).await.unwrap();
    assert_eq!(d.state, RefundState::Succeeded);
    assert_eq!(d.status, OrderStatus::Issued);
    assert_eq!(d.callback_ids.len(), 1);
    assert_eq!(seats(s, "S72").await, 9);
    let (method, json) = payload(s, &d.callback_ids[0]).await;
    assert_eq!(method, "taobao.bus.agent.refund.confirm");
    assert_eq!(
        json,
        format!(
            r#"{{"agent_order_id":"{agent}","main_biz_order_id":900000000006,"agent_return_ticket_status":1,"agent_return_ticket_type":0,"agent_ticket_id":"{agent}-1","passenger_id_num":"110101199001011000","passenger_name":"乘客0","agent_refund_amount":"18","agent_refund_trans_id":"{rid}-1","agent_return_time":"2022-11-03 00:05:00","depart_date":"2022-11-03 10:00:00","agent_return_mode":"online","refund_scene":"common"}}"#
        )
    );
    // The callback keeps what it says, not the order: the other passenger is not in it.
    let stored = s.get(&Callback::key(&d.callback_ids[0])).await.unwrap().unwrap().body;
    assert!(stored.contains("乘客0") && !stored.contains("乘客1"), "{stored}");
    assert!(list_pending_refunds(s).await.unwrap().is_empty());
    // The same decision again changes nothing and writes no second callback; the opposite is refused.
    let repeat = decide_refund(s, &rid, true, None, decided_at + Duration::minutes(1)).await.unwrap();
    assert!(repeat.repeated);
    assert!(repeat.callback_ids.is_empty());
    assert_eq!((repeat.state, repeat.status), (RefundState::Succeeded, OrderStatus::Issued));
    assert_eq!(seats(s, "S72").await, 9, "seats come back once");
    assert!(matches!(decide_refund(s, &rid, false, None, decided_at).await, Err(OrderError::InvalidState(_))));
    // Decided refunds are listed by the day they were accepted.
    let day = at.with_timezone(&busgate_domain::gmt8()).date_naive();
    assert_eq!(
        orders::list_refunds_created_on(s, day).await.unwrap().iter().map(|p| p.refund_id.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&rid)
    );
    assert_eq!(decide_refund(s, "RF0", true, None, decided_at).await, Err(OrderError::NotFound));
    // The repeat now shows the current states (§8.3).
    let again = apply_refund(s, &by_ticket("900000000006", &[format!("{agent}-1")]), at, &cfg).await.result.unwrap();
    assert_eq!(again["status"], "3");
    assert_eq!(again["passengerList"][0]["ticketStatus"], "5");
}

#[tokio::test]
async fn async_refund_failure_then_refund_again() {
    let store = store().await;
    let s = store.as_ref();
    let a = create(s, &request_sw("900000000007", 2), now(), &Settings::default()).await.unwrap();
    let agent = a["agentOrderId"].as_str().unwrap().to_string();
    orders::confirm(s, "900000000007", None, now(), &Settings::default()).await.result.unwrap();
    let cfg = Settings { async_refund: true, ..Settings::default() };
    let r = apply_refund(s, &by_ticket("900000000007", &[]), now(), &cfg).await.result.unwrap();
    let rid = r["refundId"].as_str().unwrap().to_string();
    let d = decide_refund(s, &rid, false, Some("已检票"), now() + Duration::hours(1)).await.unwrap();
    assert_eq!(d.state, RefundState::Failed);
    assert_eq!(d.status, OrderStatus::Issued);
    assert_eq!(d.callback_ids.len(), 1, "whole order: one call");
    let (_, json) = payload(s, &d.callback_ids[0]).await;
    assert_eq!(
        json,
        format!(
            r#"{{"agent_order_id":"{agent}","main_biz_order_id":900000000007,"agent_return_ticket_status":2,"agent_return_ticket_type":1,"agent_return_time":"2022-11-01 11:00:00","depart_date":"2022-11-03 12:00:00","agent_return_mode":"online","refund_scene":"common","agent_return_ticket_code":1905,"agent_ext_attr":"{{\"reason\":\"已检票\"}}"}}"#
        )
    );
    let o = get_order(s, "900000000007").await.unwrap().unwrap();
    assert!(o.passengers.iter().all(|p| p.ticket.status == TicketStatus::RefundFailed));
    assert_eq!(seats(s, "SW").await, 18);
    // Tickets in 6 can be refunded again: a new refund (the failed one is no repeat).
    let r2 = apply_refund(s, &by_ticket("900000000007", &[]), now() + Duration::hours(2), &cfg).await.result.unwrap();
    assert_ne!(r2["refundId"], rid.as_str());
    let d2 = decide_refund(s, r2["refundId"].as_str().unwrap(), true, None, now() + Duration::hours(3)).await.unwrap();
    assert_eq!(d2.status, OrderStatus::Refunded);
    let (_, json) = payload(s, &d2.callback_ids[0]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["agent_refund_amount"], "100");
    assert_eq!(v["agent_refund_trans_id"], r2["refundId"]);
    assert!(v.get("agent_ticket_id").is_none());
    assert_eq!(seats(s, "SW").await, 20);
}

#[tokio::test]
async fn the_sweeper_approves_refunds_pending_past_the_deadline_and_only_those() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "900000000016", 2).await;
    let cfg = Settings { async_refund: true, ..Settings::default() };
    let at = d72() - Duration::hours(30);
    let first = apply_refund(s, &by_ticket("900000000016", &[format!("{agent}-1")]), at, &cfg).await.result.unwrap();
    let second = apply_refund(s, &by_ticket("900000000016", &[format!("{agent}-2")]), at + Duration::minutes(40), &cfg).await.result.unwrap();
    let deadline = Duration::minutes(60);
    // 59 minutes after the first: nothing is due.
    let none = orders::approve_overdue_refunds(s, at + Duration::minutes(59), deadline).await.unwrap();
    assert_eq!((none.approved, none.callback_ids.len()), (0, 0));
    // 61 minutes after the first: the first only, with its refund.confirm.
    let r = orders::approve_overdue_refunds(s, at + Duration::minutes(61), deadline).await.unwrap();
    assert_eq!((r.approved, r.callback_ids.len(), r.errors), (1, 1, 0));
    let pending: Vec<String> = list_pending_refunds(s).await.unwrap().into_iter().map(|p| p.refund_id).collect();
    assert_eq!(pending, [second["refundId"].as_str().unwrap()]);
    let o = get_order(s, "900000000016").await.unwrap().unwrap();
    assert_eq!(o.passengers[0].ticket.status, TicketStatus::Refunded);
    assert_eq!(o.passengers[1].ticket.status, TicketStatus::Refunding);
    assert_eq!(o.refund(first["refundId"].as_str().unwrap()).unwrap().state, RefundState::Succeeded);
    // Running again later takes the second, and never the first twice.
    let r = orders::approve_overdue_refunds(s, at + Duration::minutes(101), deadline).await.unwrap();
    assert_eq!((r.approved, r.callback_ids.len()), (1, 1));
    assert_eq!(get_order(s, "900000000016").await.unwrap().unwrap().status, OrderStatus::Refunded);
}

#[tokio::test]
async fn money_refunds_serials_caps_and_payload() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "900000000008", 2).await;
    let m1 = money_refund(s, "900000000008", Some(2500), "延误补偿", None, now()).await.unwrap();
    let m2 = money_refund(s, "900000000008", Some(100), "延误补偿", None, now()).await.unwrap();
    assert_ne!(m1.serial, m2.serial);
    assert!(m1.serial.starts_with("MR221101"), "{}", m1.serial);
    assert_eq!(m1.lines, vec![(format!("{agent}-1"), 2000), (format!("{agent}-2"), 500)]);
    assert_eq!(m2.lines, vec![(format!("{agent}-2"), 100)]);
    let (method, json) = payload(s, &m1.callback_ids[0]).await;
    assert_eq!(method, "taobao.bus.agent.multiple.refund.confirm");
    assert_eq!(
        json,
        format!(
            r#"{{"agent_order_id":"{agent}","main_biz_order_id":900000000008,"agent_refund_reason":"延误补偿","agent_refund_trans_no":"{}","refund_scene":"common","total_refund_amount":2500,"refund_ticket_detail_list":[{{"agent_ticket_id":"{agent}-1","passenger_id_num":"110101199001011000","refund_amount":2000}},{{"agent_ticket_id":"{agent}-2","passenger_id_num":"110101199001011001","refund_amount":500}}]}}"#,
            m1.serial
        )
    );
    // The serial record exists, once.
    assert!(s.get(&orders::records::money_refund_key(&m1.serial)).await.unwrap().is_some());
    // Caps: 1400 left on the order.
    assert!(matches!(money_refund(s, "900000000008", Some(1401), "x", None, now()).await, Err(OrderError::Invalid { .. })));
    assert!(matches!(money_refund(s, "900000000008", None, "x", None, now()).await, Err(OrderError::Invalid { .. })));
    assert!(matches!(money_refund(s, "900000000008", Some(10), " ", None, now()).await, Err(OrderError::Invalid { .. })));
    // §8.5: a later refund pays at most what is left (ticket 2: 1400 left; fee 0 now).
    let r = apply_refund(s, &by_ticket("900000000008", &[format!("{agent}-2")]), now(), &Settings::default()).await.result.unwrap();
    assert_eq!(r["totalRefundAmount"], 1400);
    // Ticket 1 was fully compensated: a refund pays 0.
    let r = apply_refund(s, &by_ticket("900000000008", &[format!("{agent}-1")]), now(), &Settings::default()).await.result.unwrap();
    assert_eq!(r["totalRefundAmount"], 0);
    let o = get_order(s, "900000000008").await.unwrap().unwrap();
    assert!(o.passengers.iter().all(|p| p.ticket.refunded == p.ticket.price));
    assert_eq!(o.money_refunds.len(), 2);
    // Unissued order.
    create(s, &request("900000000009", 1), now(), &Settings::default()).await.unwrap();
    assert_eq!(words(money_refund(s, "900000000009", Some(1), "x", None, now()).await), Err(state("订单未出票")));
}

#[tokio::test]
async fn forced_money_refund_of_one_order() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "900000000010", 2).await;
    money_refund(s, "900000000010", Some(300), "补偿", None, now()).await.unwrap();
    let m = money_refund(s, "900000000010", None, "", Some(ForceReason::Weather), now()).await.unwrap();
    assert_eq!(m.lines, vec![(format!("{agent}-1"), 1700), (format!("{agent}-2"), 2000)]);
    assert_eq!(m.status, OrderStatus::Refunded);
    let (_, json) = payload(s, &m.callback_ids[0]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["refund_scene"], "force");
    assert_eq!(v["refund_scene_official_reason_code"], "1");
    assert_eq!(v["agent_refund_reason"], "天气原因");
    assert_eq!(v["total_refund_amount"], 3700);
    assert_eq!(seats(s, "S72").await, 10);
    assert!(matches!(money_refund(s, "900000000010", Some(5), "x", Some(ForceReason::Weather), now()).await, Err(OrderError::Invalid { .. })));
    assert!(matches!(money_refund(s, "900000000010", None, "x", Some(ForceReason::Weather), now()).await, Err(OrderError::InvalidState(_))));
}

#[tokio::test]
async fn counter_refund() {
    let store = store().await;
    let s = store.as_ref();
    let agent = issued(s, "900000000011", 3).await;
    let at = d72() - Duration::hours(10); // 10 %
    let m = offline_refund(s, "900000000011", Some(vec![format!("{agent}-2")]), None, at).await.unwrap();
    assert_eq!(m.lines, vec![(format!("{agent}-2"), 1800)]);
    assert_eq!(m.status, OrderStatus::Issued);
    assert_eq!(seats(s, "S72").await, 8);
    let q = orders::query(s, "900000000011", None, at).await.result.unwrap();
    let tk = &q["passengerList"][1]["ticketList"][0];
    assert_eq!((tk["ticketStatus"].as_str(), tk["isRefund"].as_bool()), (Some("5"), Some(true)));
    assert_eq!((tk["refundSurcharge"].as_i64(), tk["refundAmount"].as_i64()), (Some(200), Some(1800)));
    let (_, json) = payload(s, &m.callback_ids[0]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["refund_scene"], "common");
    assert!(v.get("refund_scene_official_reason_code").is_none());
    assert_eq!(v["agent_refund_reason"], "线下退票");
    // Only tickets in 2/6.
    assert_eq!(
        offline_refund(s, "900000000011", Some(vec![format!("{agent}-2")]), None, at).await,
        Err(OrderError::invalid("tickets[0]", format!("{agent}-2 cannot be refunded: it is Refunded")))
    );
    assert!(matches!(offline_refund(s, "900000000011", Some(vec!["nope".into()]), None, at).await, Err(OrderError::Invalid { .. })));
    // The rest, after D, with the operator's amount: no seats back.
    let m = offline_refund(s, "900000000011", None, Some(1500), d72() + Duration::hours(1)).await.unwrap();
    assert_eq!(m.lines.len(), 2);
    assert_eq!(m.total, 3000);
    assert_eq!(m.status, OrderStatus::Refunded);
    assert_eq!(seats(s, "S72").await, 8);
    assert!(matches!(offline_refund(s, "900000000011", None, None, at).await, Err(OrderError::InvalidState(_))));
}

#[tokio::test]
async fn stopped_departure_refunds_every_sold_ticket() {
    let store = store().await;
    let s = store.as_ref();
    let a1 = issued(s, "900000000012", 2).await;
    issued(s, "900000000013", 1).await;
    // A partly refunded order: only its valid tickets.
    apply_refund(s, &by_ticket("900000000012", &[format!("{a1}-1")]), now(), &Settings::default()).await.result.unwrap();
    // An async issue pending, an unpaid order.
    let cfg = async_settings();
    create(s, &request("900000000014", 1), now(), &cfg).await.unwrap();
    orders::confirm(s, "900000000014", None, now(), &cfg).await.result.unwrap();
    create(s, &request("900000000015", 1), now(), &cfg).await.unwrap();
    assert_eq!(seats(s, "S72").await, 6);

    assert_eq!(words(refund_stopped_departure(s, "S72", ForceReason::Stopped, now()).await), Err(state("班次未停运")));
    stop_departure(s, "S72", "车辆故障", now(), &ImportOptions::default()).await.unwrap();
    let rep = refund_stopped_departure(s, "S72", ForceReason::Stopped, now() + Duration::minutes(1)).await.unwrap();
    assert_eq!(rep.orders_refunded, 2);
    assert_eq!(rep.tickets_refunded, 2);
    assert_eq!(rep.total, 4000);
    assert_eq!(rep.issues_failed, 1);
    assert_eq!(rep.callback_ids.len(), 3);
    assert!(rep.errors.is_empty());
    assert_eq!(get_order(s, "900000000012").await.unwrap().unwrap().status, OrderStatus::Refunded);
    assert_eq!(get_order(s, "900000000013").await.unwrap().unwrap().status, OrderStatus::Refunded);
    assert_eq!(get_order(s, "900000000014").await.unwrap().unwrap().book_fail_code, Some(RefusalCode::Stopped));
    assert_eq!(get_order(s, "900000000015").await.unwrap().unwrap().status, OrderStatus::Locked);
    assert_eq!(seats(s, "S72").await, 9);
    let mut forced = 0;
    for id in &rep.callback_ids {
        let (method, json) = payload(s, id).await;
        if method == "taobao.bus.agent.multiple.refund.confirm" {
            let v: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["refund_scene"], "force");
            assert_eq!(v["refund_scene_official_reason_code"], "0");
            assert_eq!(v["agent_refund_reason"], "车辆故障");
            forced += 1;
        }
    }
    assert_eq!(forced, 2);
    // Again: nothing is paid twice.
    let again = refund_stopped_departure(s, "S72", ForceReason::Stopped, now() + Duration::minutes(2)).await.unwrap();
    assert_eq!((again.orders_refunded, again.callback_ids.len()), (0, 0));
}
