//! `busgate notices show` links a Fenbeitong notice to the Busgate order it concerns when the
//! notice names that order's Fliggy id.

use crate::fixture;

use std::sync::Arc;
use std::time::Duration;

use busgate_adapters::InProcessQueue;
use busgate_cli::admin::{execute, AdminCommand};
use busgate_domain::orders::create;
use busgate_domain::ManualClock;
use busgate_edge::{App, Config};
use busgate_wire::fenbeitong::receive as intake;

#[tokio::test]
async fn a_notice_naming_an_order_is_linked_to_it() {
    let store = fixture::store().await;
    create(store.as_ref(), &fixture::request("900000000077", 1), fixture::now(), &fixture::settings()).await.unwrap();
    let app = App::new(
        Config::from_lookup(&|_| None).unwrap(),
        store.clone(),
        Arc::new(InProcessQueue::new(Duration::from_secs(30), 5)),
        Arc::new(ManualClock::new(fixture::now())),
    );
    let seed = include_str!("../../fixtures/fenbeitong/train_rebook.json");
    let mut notice: serde_json::Value = serde_json::from_str(seed).unwrap();
    notice["orders"][0]["id"] = serde_json::json!("900000000077");
    notice["apply"]["id"] = serde_json::json!("555000000000000077");
    intake(store.as_ref(), "acme", notice.to_string().as_bytes(), fixture::now()).await.unwrap();
    let linked = execute(&app, AdminCommand::NoticesShow { id: notice["apply"]["id"].as_str().unwrap().to_string() }, &|_, _| {}).await.unwrap();
    assert!(linked.text.contains("Fliggy 900000000077"), "{}", linked.text);
    assert!(linked.text.contains("fenbeitong order 900000000077"), "{}", linked.text);

    // The seed itself names no Busgate order.
    intake(store.as_ref(), "acme", seed.as_bytes(), fixture::now()).await.unwrap();
    let seed_id: serde_json::Value = serde_json::from_str(seed).unwrap();
    let unlinked = execute(&app, AdminCommand::NoticesShow { id: seed_id["apply"]["id"].as_str().unwrap().to_string() }, &|_, _| {}).await.unwrap();
    assert!(unlinked.text.contains("not linked"), "{}", unlinked.text);
}
