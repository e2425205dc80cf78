//! `busgate refund money | offline` and `busgate catalogue stop --refund` through the real
//! binary, on issued orders of the demo catalogue (created with the orders domain).

use crate::admin_support;

use admin_support::*;
use busgate_domain::catalogue::demo::DEMO_AIRPORT_LINE;
use busgate_domain::catalogue::PlannedDeparture;
use busgate_domain::orders::{self, CreateRequest, CustomAddress, PassengerInput, PassengerType, Settings};
use serde_json::Value;

/// A create of `n` adults, 人民广场 → 浦东机场T2 (3000 fen each), on `dep`.
fn order_request(order_id: &str, dep: &PlannedDeparture, n: usize) -> CreateRequest {
    let passenger = |i: usize| PassengerInput {
        name: format!("乘客{i}"),
        cert_type: "1".into(),
        cert_no: format!("11010119900101{:04}", 1000 + i),
        passenger_type: Some(PassengerType::Adult),
        ticket_price: Some(3000),
    };
    CreateRequest {
        alitrip_order_id: order_id.into(),
        schedule_id: dep.schedule_id.clone(),
        line_id: Some(DEMO_AIRPORT_LINE.into()),
        from_date: dep.date,
        from_time: dep.time.start(),
        from_station_code: Some("RMGC".into()),
        to_station_code: Some("PVG2".into()),
        ticket_count: n as u32,
        order_amount: 3000 * n as i64,
        ticket_amount: Some(3000 * n as i64),
        custom_departure: CustomAddress::default(),
        custom_destination: CustomAddress::default(),
        info: Default::default(),
        passengers: (0..n).map(passenger).collect(),
    }
}

/// Creates and issues an order of two adults (see [`order_request`]) and returns its ticket ids.
fn issued_order(data: &std::path::Path, order_id: &str, dep: &PlannedDeparture) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = busgate_adapters::EmbeddedStore::open(data).unwrap();
        let now = chrono::Utc::now();
        orders::create(&store, &order_request(order_id, dep, 2), now, &Settings::default()).await.expect("order created");
        let issued = orders::confirm(&store, order_id, None, now, &Settings::default()).await.result.expect("order issued");
        assert_eq!(issued.status, orders::OrderStatus::Issued);
        issued.passengers.iter().map(|p| p.ticket.ticket_id.clone()).collect()
    })
}

fn ids(v: &Value) -> usize {
    v["callback_ids"].as_array().unwrap().len()
}

#[test]
fn money_counter_and_stopped_departure_refunds() {
    let dir = temp_dir("refunds");
    let data = dir.join("data");
    let file = demo();
    busgate(&data, &["catalogue", "import", write_file(&dir, "demo.json", &file).to_str().unwrap()]).ok();
    let planned = file.planned_departures().unwrap();
    let mut future = planned
        .iter()
        .filter(|p| file.lines[p.line_index].line.id == DEMO_AIRPORT_LINE && p.stop.is_none() && p.date >= today() + chrono::Duration::days(2));
    let (first, second) = (future.next().unwrap().clone(), future.next().unwrap().clone());

    let tickets = issued_order(&data, "900000000101", &first);
    // Compensation: money only.
    let money = busgate(&data, &["refund", "money", "900000000101", "--amount", "500", "--reason", "延误补偿", "--json"]).ok().json();
    assert_eq!(money["total_fen"], 500);
    assert_eq!(ids(&money), 1);
    busgate(&data, &["refund", "money", "900000000101", "--amount", "500"]).failed();
    busgate(&data, &["refund", "money", "900000000101", "--amount", "5", "--force-majeure", "weather"]).failed();
    busgate(&data, &["refund", "money", "900000000101", "--reason", "x", "--force-majeure", "hail"]).failed();
    // A counter refund of one ticket.
    let counter = busgate(&data, &["refund", "offline", "900000000101", "--tickets", &tickets[0], "--json"]).ok().json();
    assert_eq!(counter["lines"].as_array().unwrap().len(), 1);
    assert_eq!(counter["lines"][0]["ticket_id"], tickets[0].as_str());
    // A forced refund of what is left.
    let forced = busgate(&data, &["refund", "money", "900000000101", "--force-majeure", "weather"]);
    forced.ok();
    assert!(forced.stdout.starts_with("forced refund on order 900000000101"), "{}", forced.stdout);
    assert!(forced.stdout.contains(&tickets[1]), "{}", forced.stdout);
    let nothing = busgate(&data, &["refund", "offline", "900000000101"]);
    nothing.failed();
    let unknown = busgate(&data, &["refund", "offline", "900000000999"]);
    assert!(unknown.failed().stderr.contains("order 900000000999 not found"), "{}", unknown.stderr);

    // Stopping a departure with --refund refunds its sold tickets.
    issued_order(&data, "900000000102", &second);
    let stop = busgate(&data, &["catalogue", "stop", &second.schedule_id, "--reason", "车辆故障", "--refund", "--json"]).ok().json();
    assert_eq!(stop["changed"], true);
    assert_eq!(stop["refunds"]["orders_refunded"], 1);
    assert_eq!(stop["refunds"]["tickets_refunded"], 2);
    assert_eq!(stop["refunds"]["total_fen"], 6000);
    // Again: already stopped, nothing paid twice.
    let again = busgate(&data, &["catalogue", "stop", &second.schedule_id, "--reason", "车辆故障", "--refund", "--json"]).ok().json();
    assert_eq!(again["changed"], false);
    assert_eq!(again["refunds"]["tickets_refunded"], 0);

    let pending = busgate(&data, &["outbox", "list", "--pending", "--json"]).ok().json();
    let refunds =
        pending["callbacks"].as_array().unwrap().iter().filter(|c| c["destination"]["method"].as_str().unwrap_or("").contains("refund")).count();
    assert_eq!(refunds, 4, "{pending}");
    cleanup(&dir);
}

/// Applies an async refund of one ticket of an issued order (as refunds/apply does in
/// `BUSGATE_REFUND_MODE=async`) and returns its refundId.
fn async_refund(data: &std::path::Path, order_id: &str, ticket_id: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = busgate_adapters::EmbeddedStore::open(data).unwrap();
        let req = orders::RefundApplyRequest {
            alitrip_order_id: order_id.into(),
            entries: vec![orders::RefundEntry { path: "passengerList[0]".into(), ticket_id: Some(ticket_id.into()), ..Default::default() }],
            ..Default::default()
        };
        let settings = Settings { async_refund: true, ..Settings::default() };
        let a = orders::apply_refund(&store, &req, chrono::Utc::now(), &settings).await.result.expect("refund accepted");
        assert_eq!(a.order.status, orders::OrderStatus::Refunding);
        a.refund.refund_id
    })
}

#[test]
fn async_refunds_are_listed_approved_and_rejected_by_the_back_office() {
    let dir = temp_dir("refund-decide");
    let data = dir.join("data");
    let file = demo();
    busgate(&data, &["catalogue", "import", write_file(&dir, "demo.json", &file).to_str().unwrap()]).ok();
    let dep = future_departure(&file, DEMO_AIRPORT_LINE);
    let tickets = issued_order(&data, "900000000111", &dep);
    let first = async_refund(&data, "900000000111", &tickets[0]);
    let second = async_refund(&data, "900000000111", &tickets[1]);

    let pending = busgate(&data, &["refund", "list", "--pending", "--json"]).ok().json();
    let listed: Vec<&str> = pending["refunds"].as_array().unwrap().iter().map(|r| r["refund_id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 2, "{pending}");
    assert!(listed.contains(&first.as_str()) && listed.contains(&second.as_str()));
    assert!(pending["refunds"].as_array().unwrap().iter().all(|r| r["state"] == "pending"));

    // Approve: the ticket refunded, one refund.confirm queued; again: nothing new.
    let approved = busgate(&data, &["refund", "approve", &first, "--json"]).ok().json();
    assert_eq!((approved["state"].as_str(), approved["repeated"].as_bool(), ids(&approved)), (Some("approved"), Some(false), 1), "{approved}");
    assert_eq!(approved["status"], "9", "the other ticket is still refunding");
    let again = busgate(&data, &["refund", "approve", &first, "--json"]).ok().json();
    assert_eq!((again["repeated"].as_bool(), ids(&again)), (Some(true), 0));
    let text = busgate(&data, &["refund", "approve", &first]).ok().stdout.clone();
    assert!(text.contains("already approved"), "{text}");
    // The opposite decision cannot undo it.
    let refused = busgate(&data, &["refund", "reject", &first, "--reason", "已检票"]);
    assert!(refused.failed().stderr.contains(&first), "{}", refused.stderr);

    // Reject needs a reason; with one, the ticket is valid again and the order issued.
    busgate(&data, &["refund", "reject", &second]).failed();
    let rejected = busgate(&data, &["refund", "reject", &second, "--reason", "已检票", "--json"]).ok().json();
    assert_eq!((rejected["state"].as_str(), ids(&rejected)), (Some("rejected"), 1), "{rejected}");
    assert_eq!(rejected["status"], "3");

    // Nothing pending; the full list shows both decisions.
    assert_eq!(busgate(&data, &["refund", "list", "--pending", "--json"]).ok().json()["refunds"], serde_json::json!([]));
    let all = busgate(&data, &["refund", "list", "--json"]).ok().json();
    let states: Vec<(String, String)> =
        all["refunds"].as_array().unwrap().iter().map(|r| (r["refund_id"].as_str().unwrap().into(), r["state"].as_str().unwrap().into())).collect();
    assert!(states.contains(&(first.clone(), "approved".into())) && states.contains(&(second.clone(), "rejected".into())), "{all}");
    let table = busgate(&data, &["refund", "list"]).ok().stdout.clone();
    assert!(table.contains("已检票") && table.contains(&first), "{table}");
    let unknown = busgate(&data, &["refund", "approve", "RF000"]);
    assert!(unknown.failed().stderr.contains("refund RF000 not found"), "{}", unknown.stderr);

    // Each decision's refund.confirm is in the outbox once.
    let outbox = busgate(&data, &["outbox", "list", "--pending", "--json"]).ok().json();
    let confirms = outbox["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["destination"]["method"].as_str() == Some("taobao.bus.agent.refund.confirm"))
        .count();
    assert_eq!(confirms, 2, "{outbox}");
    cleanup(&dir);
}

/// Creates an order of one adult and confirms it in async issue mode: it waits in `2`.
fn issuing_order(data: &std::path::Path, order_id: &str, dep: &PlannedDeparture) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = busgate_adapters::EmbeddedStore::open(data).unwrap();
        let settings = Settings { async_issue: true, async_issue_deadline_minutes: 60, ..Settings::default() };
        let now = chrono::Utc::now();
        orders::create(&store, &order_request(order_id, dep, 1), now, &settings).await.expect("order created");
        let confirmed = orders::confirm(&store, order_id, None, now, &settings).await.result.expect("confirm accepted");
        assert_eq!(confirmed.status, orders::OrderStatus::Issuing);
    })
}

#[test]
fn async_issues_are_listed_issued_and_refused_by_the_back_office() {
    let dir = temp_dir("issue-decide");
    let data = dir.join("data");
    let file = demo();
    busgate(&data, &["catalogue", "import", write_file(&dir, "demo.json", &file).to_str().unwrap()]).ok();
    let dep = future_departure(&file, DEMO_AIRPORT_LINE);
    issuing_order(&data, "900000000211", &dep);
    issuing_order(&data, "900000000212", &dep);

    let waiting = busgate(&data, &["issue", "list", "--json"]).ok().json();
    let listed: Vec<&str> = waiting["issues"].as_array().unwrap().iter().map(|o| o["alitrip_order_id"].as_str().unwrap()).collect();
    assert_eq!(listed, ["900000000211", "900000000212"], "{waiting}");
    assert!(busgate(&data, &["issue", "list"]).ok().stdout.contains("900000000212"));

    let issued = busgate(&data, &["issue", "approve", "900000000211", "--json"]).ok().json();
    assert_eq!((issued["outcome"].as_str(), issued["status"].as_str(), ids(&issued)), (Some("issued"), Some("3"), 1), "{issued}");
    // Decided once: a second decision is refused, naming the state.
    let again = busgate(&data, &["issue", "refuse", "900000000211", "--reason", "x"]);
    assert!(again.failed().stderr.contains("900000000211"), "{}", again.stderr);

    // Refusing needs a reason; the official cause must be one of the four.
    busgate(&data, &["issue", "refuse", "900000000212"]).failed();
    let bad = busgate(&data, &["issue", "refuse", "900000000212", "--reason", "车辆故障", "--fail-code", "9999"]);
    assert!(bad.failed().stderr.contains("1102, 1104, 1114 or 1401"), "{}", bad.stderr);
    let refused = busgate(&data, &["issue", "refuse", "900000000212", "--reason", "车辆故障", "--fail-code", "1102", "--json"]).ok().json();
    assert_eq!((refused["outcome"].as_str(), refused["status"].as_str(), ids(&refused)), (Some("refused"), Some("4"), 1), "{refused}");
    assert_eq!(busgate(&data, &["issue", "list", "--json"]).ok().json()["issues"], serde_json::json!([]));

    // One bookticket.confirm per decision, the refusal carrying its cause.
    let outbox = busgate(&data, &["outbox", "list", "--pending", "--json"]).ok().json();
    let confirms: Vec<&Value> = outbox["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["destination"]["method"].as_str() == Some("taobao.bus.agent.bookticket.confirm"))
        .collect();
    assert_eq!(confirms.len(), 2, "{outbox}");
    cleanup(&dir);
}
