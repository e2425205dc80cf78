//! The outbox worker's batch: records are attempted concurrently, so one slow partner does not
//! hold up the others, and a record still running near the function's deadline is handed back
//! (reported failed) instead of timing out the whole batch.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use busgate_adapters::InProcessQueue;
use busgate_domain::outbox::{Callback, CallbackStatus, QueueMessage};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::Store;
use busgate_domain::SystemClock;
use busgate_edge::{App, Config};

/// A TOP gateway that answers success, after `slow` for any call whose payload says "slow";
/// it records when each call arrived.
async fn gateway(slow: Duration) -> (String, Arc<Mutex<Vec<(String, Instant)>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let seen = seen.clone();
        async move {
            let which = if body.contains("slow") { "slow" } else { "fast" };
            seen.lock().unwrap().push((which.to_string(), Instant::now()));
            if which == "slow" {
                tokio::time::sleep(slow).await;
            }
            r#"{"item_notify_response":{"is_success":true,"request_id":"t"}}"#
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/router/rest", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

async fn app_with(top_url: &str) -> (App, Arc<MemoryStore>) {
    let vars =
        [("BUSGATE_TOP_URL", top_url), ("BUSGATE_TOP_APP_KEY", "12345678"), ("BUSGATE_TOP_SECRET", "secret"), ("BUSGATE_TOP_SESSION", "session")];
    let config = Config::from_lookup(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let store = Arc::new(MemoryStore::new());
    let queue = Arc::new(InProcessQueue::new(Duration::from_secs(30), 10));
    (App::new(config, store.clone(), queue, Arc::new(SystemClock)), store)
}

/// Two pending item.notify callbacks ("slow" and "fast") and their queue records.
async fn two_callbacks(store: &MemoryStore) -> Vec<aws_lambda_events::sqs::SqsMessage> {
    let now = chrono::Utc::now();
    let mut records = Vec::new();
    for which in ["slow", "fast"] {
        let cb = Callback::top(
            format!("CB-{which}"),
            "taobao.bus.item.notify",
            "param_top_item_change_notify_r_q",
            format!(r#"{{"from_city":"a","to_city":"{which}","from_date":"2030-01-01"}}"#),
            "test",
            now,
        );
        store.transact(vec![cb.insert()]).await.unwrap();
        let mut m = aws_lambda_events::sqs::SqsMessage::default();
        m.message_id = Some(format!("m-{which}"));
        m.body = Some(QueueMessage::Deliver { callback_id: cb.id.clone() }.body());
        records.push(m);
    }
    records
}

async fn status(store: &MemoryStore, id: &str) -> CallbackStatus {
    store.get(&Callback::key(id)).await.unwrap().unwrap().decode::<Callback>().unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_partner_does_not_hold_up_the_rest_of_the_batch() {
    let (url, arrivals) = gateway(Duration::from_secs(3)).await;
    let (app, store) = app_with(&url).await;
    let records = two_callbacks(&store).await;
    let started = Instant::now();
    let answer = busgate_edge::lambda::worker_batch(&app, &app.config.partners(), records, Duration::from_secs(20)).await;
    assert!(answer.batch_item_failures.is_empty());
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1].1.duration_since(arrivals[0].1);
    // One after the other, the fast one would wait for the slow one's 3 s.
    assert!(gap < Duration::from_secs(1), "the second call came {gap:?} after the first");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_eq!(status(&store, "CB-slow").await, CallbackStatus::Delivered);
    assert_eq!(status(&store, "CB-fast").await, CallbackStatus::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_still_running_at_the_deadline_is_handed_back_and_the_rest_settle() {
    let (url, _) = gateway(Duration::from_secs(8)).await;
    let (app, store) = app_with(&url).await;
    let records = two_callbacks(&store).await;
    let started = Instant::now();
    let answer = busgate_edge::lambda::worker_batch(&app, &app.config.partners(), records, Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_secs(4), "answered before the function's deadline");
    let failed: Vec<&str> = answer.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m-slow"], "only the unfinished record comes back");
    assert_eq!(status(&store, "CB-fast").await, CallbackStatus::Delivered);
    assert_eq!(status(&store, "CB-slow").await, CallbackStatus::Pending, "nothing lost: still owed");
}
