//! The refund callbacks survive Fliggy's failures like the bookticket callback does: an async
//! refund decided by the back office sends `taobao.bus.agent.refund.confirm`, an operator
//! money refund sends `taobao.bus.agent.multiple.refund.confirm`; the fake TOP fails both with
//! transport errors and `isp.*` codes first, and each is delivered once, byte for byte the
//! same payload on every attempt.

use std::time::{Duration, Instant};

use busgate_cli::local::{Running, DEMO_QIMEN_SECRET};
use busgate_domain::orders::{decide_refund, money_refund};
use busgate_edge::{BusRoute, Route};
use busgate_tests::{call_bus, start_local};
use serde_json::{json, Value};

const ISP: &str = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.system-busy"}}"#;

/// Books and issues one ticket on a demo departure from 上海市 that can be refunded now,
/// picked by the simulator's rule (its refund tiers at this hour), so the test passes at any
/// time of day.
async fn issued_order(local: &Running, order_id: &str) -> (String, Value) {
    let base = local.base_url();
    let (_, lines) = call_bus(&base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", local.app.clock.now()).expect("a sellable demo departure");
    assert!(target.refundable(), "the demo always has a departure refundable now: {lines}");
    let create = busgate_cli::sim::order_body(&target, order_id, 1);
    let (_, created) = call_bus(&base, Route::Bus(BusRoute::OrdersCreate), &create, DEMO_QIMEN_SECRET).await;
    assert_eq!(created["retCode"], "0", "{created}");
    let agent = created["agentOrderId"].as_str().unwrap().to_string();
    let (_, confirmed) = call_bus(&base, Route::Bus(BusRoute::OrdersConfirm), &json!({"alitripOrderId": order_id}), DEMO_QIMEN_SECRET).await;
    assert_eq!(confirmed["status"], "3", "{confirmed}");
    (agent, confirmed)
}

async fn wait_delivered(local: &Running, method: &str) -> Vec<busgate_cli::local::RecordedCall> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let delivered = local.fake_top.delivered(method);
        if !delivered.is_empty() {
            return delivered;
        }
        assert!(
            Instant::now() < deadline,
            "{method} never delivered: {:?}",
            local.fake_top.calls().iter().filter(|c| c.method == method).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn attempts_of(local: &Running, method: &str) -> Vec<busgate_cli::local::RecordedCall> {
    local.fake_top.calls().into_iter().filter(|c| c.method == method).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_refund_confirm_survives_failures_and_is_delivered_once() {
    let (local, _dir) =
        start_local(&[("BUSGATE_REFUND_MODE", "async"), ("BUSGATE_AUTO_REFUND", "false"), ("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0")]).await;
    let (agent, _) = issued_order(&local, "940000000001").await;
    let (_, fee) = call_bus(&local.base_url(), Route::Bus(BusRoute::RefundsFee), &json!({"alitripOrderId": "940000000001"}), DEMO_QIMEN_SECRET).await;
    let surcharge = fee["passengerList"][0]["refundSurcharge"].clone();
    let apply = json!({"alitripOrderId": "940000000001", "agentOrderId": agent,
                       "passengerList": [{"ticketId": format!("{agent}-1"), "refundSurcharge": surcharge}]});
    let (_, applied) = call_bus(&local.base_url(), Route::Bus(BusRoute::RefundsApply), &apply, DEMO_QIMEN_SECRET).await;
    assert_eq!((applied["retCode"].as_str(), applied["status"].as_str()), (Some("0"), Some("9")), "{applied}");

    let method = "taobao.bus.agent.refund.confirm";
    local.fake_top.push_answers_for(method, [(502, String::new()), (200, ISP.to_string()), (503, String::new())]);
    let decision = decide_refund(local.app.store.as_ref(), applied["refundId"].as_str().unwrap(), true, None, local.app.clock.now()).await.unwrap();
    local.app.dispatch(&decision.callback_ids).await;
    let delivered = wait_delivered(&local, method).await;
    assert_eq!(delivered.len(), 1);
    let attempts = attempts_of(&local, method);
    assert_eq!(attempts.len(), 4, "three failures, then accepted");
    let payload = &attempts[0].params["param_agent_confirm_return_and_refund_r_q"];
    assert!(attempts.iter().all(|c| &c.params["param_agent_confirm_return_and_refund_r_q"] == payload));
    let p: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(p["agent_return_ticket_status"], 1);
    assert_eq!(p["agent_refund_amount"], busgate_domain::orders::fen_to_yuan(applied["totalRefundAmount"].as_i64().unwrap()));
    let (_, q) = call_bus(&local.base_url(), Route::Bus(BusRoute::OrdersQuery), &json!({"alitripOrderId": "940000000001"}), DEMO_QIMEN_SECRET).await;
    assert_eq!(q["status"], "11");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_refund_survives_failures_and_its_serial_pays_once() {
    let (local, _dir) = start_local(&[("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0")]).await;
    issued_order(&local, "940000000002").await;
    let method = "taobao.bus.agent.multiple.refund.confirm";
    local.fake_top.push_answers_for(method, [(200, ISP.to_string()), (502, String::new())]);
    let out = money_refund(local.app.store.as_ref(), "940000000002", Some(300), "延误补偿", None, local.app.clock.now()).await.unwrap();
    local.app.dispatch(&out.callback_ids).await;
    let delivered = wait_delivered(&local, method).await;
    assert_eq!(delivered.len(), 1);
    let p: Value = serde_json::from_str(&delivered[0].params["param_agent_multiple_refund_r_q"]).unwrap();
    assert_eq!(p["agent_refund_trans_no"], out.serial.as_str());
    assert_eq!(p["total_refund_amount"], 300);
    assert_eq!(attempts_of(&local, method).len(), 3);

    // The same serial can never pay twice: replaying its callback sends nothing new (it was
    // delivered), and the serial's record exists once.
    local.app.dispatch(&out.callback_ids).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(local.fake_top.delivered(method).len(), 1);
    let serial = busgate_domain::orders::records::money_refund_key(&out.serial);
    assert!(local.app.store.get(&serial).await.unwrap().is_some());
    let taken = local
        .app
        .store
        .transact(vec![busgate_domain::store::Write::Put {
            item: busgate_domain::store::Item::new(serial, "{}"),
            condition: busgate_domain::store::Condition::Absent,
        }])
        .await;
    assert!(taken.is_err(), "a serial is written once");
    // Money back never exceeds the ticket price: over the rest is refused and pays nothing;
    // the rest exactly gets a new serial.
    let (_, q) = call_bus(&local.base_url(), Route::Bus(BusRoute::OrdersQuery), &json!({"alitripOrderId": "940000000002"}), DEMO_QIMEN_SECRET).await;
    let price = q["passengerList"][0]["ticketList"][0]["ticketPrice"].as_i64().unwrap();
    let over = money_refund(local.app.store.as_ref(), "940000000002", Some(price - 300 + 1), "再补偿", None, local.app.clock.now()).await;
    assert!(matches!(over, Err(busgate_domain::orders::OrderError::Invalid { .. })), "{over:?}");
    let rest = money_refund(local.app.store.as_ref(), "940000000002", Some(price - 300), "再补偿", None, local.app.clock.now()).await.unwrap();
    assert_ne!(rest.serial, out.serial);
    assert_eq!(rest.total, price - 300);
    local.stop();
}
