//! Callbacks survive failures: the fake TOP endpoint of local mode (a real HTTP server) fails
//! with transport errors and `isp.*` codes, then accepts → delivered once; an `isv.*` refusal
//! is not retried and lands in the dead-letter queue with its reason; a worker that dies
//! between receiving and acknowledging loses nothing and never sends a delivered callback again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use busgate_adapters::InProcessQueue;
use busgate_domain::outbox::{new_callback_id, Callback, CallbackStatus};
use busgate_domain::queue::{Lane, Queue};
use busgate_domain::store::Store;
use busgate_edge::outbound::delivery::{self, Disposition};
use busgate_edge::App;
use busgate_tests::start_local;

const METHOD: &str = "taobao.bus.agent.bookticket.confirm";
const PARAM: &str = "param_agent_confirm_book_r_q";
const PAYLOAD: &str = r#"{"agent_order_id":"BG22110100000018","bus_inner_order_id":"900000000004","success":false}"#;

async fn commit_callback(app: &App) -> String {
    let now = app.clock.now();
    let cb = Callback::top(new_callback_id(now), METHOD, PARAM, PAYLOAD.to_string(), "order 900000000004", now);
    app.store.transact(vec![cb.insert()]).await.unwrap();
    cb.id
}

async fn callback(app: &App, id: &str) -> Callback {
    app.store.get(&Callback::key(id)).await.unwrap().expect("callback stored").decode().unwrap()
}

async fn wait_for_status(app: &App, id: &str, status: CallbackStatus) -> Callback {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let cb = callback(app, id).await;
        if cb.status == status {
            return cb;
        }
        assert!(Instant::now() < deadline, "callback stuck in {:?} after {} attempts: {:?}", cb.status, cb.attempts, cb.last_error);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_until_delivered_once() {
    let (local, _dir) = start_local(&[("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0")]).await;
    let isp = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.top-remote-connection-timeout"}}"#;
    let sys = r#"{"bus_agent_bookticket_confirm_response":{"is_success":false,"result_code":"SYS_ERROR","result_msg":"系统异常"}}"#;
    let limited = r#"{"error_response":{"code":7,"msg":"App Call Limited","sub_msg":"This ban will last for 0 more seconds"}}"#;
    local
        .fake_top
        .push_answers_for(METHOD, [(502, String::new()), (200, isp.into()), (503, "busy".into()), (200, sys.into()), (200, limited.into())]);
    let id = commit_callback(&local.app).await;
    local.app.dispatch(std::slice::from_ref(&id)).await;

    let cb = wait_for_status(&local.app, &id, CallbackStatus::Delivered).await;
    assert_eq!(cb.attempts, 6, "five failures, then the accepted attempt");
    let calls: Vec<_> = local.fake_top.calls().into_iter().filter(|c| c.method == METHOD).collect();
    assert_eq!(calls.len(), 6);
    assert!(calls.iter().all(|c| c.signature_ok), "every attempt is signed afresh and correctly");
    assert!(calls.iter().all(|c| c.params[PARAM] == PAYLOAD), "every retry resends the same bytes");
    assert_eq!(local.fake_top.delivered(METHOD).len(), 1, "delivered once");
    // A delivered callback is never sent again, even if its message comes back.
    local.app.dispatch(std::slice::from_ref(&id)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(local.fake_top.calls().iter().filter(|c| c.method == METHOD).count(), 6);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_refusal_is_not_retried_and_lands_in_the_dead_letter_queue() {
    let (local, _dir) = start_local(&[("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0")]).await;
    let isv = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.invalid-parameter","sub_msg":"agent_order_id不存在"}}"#;
    local.fake_top.push_answers_for(METHOD, [(200, isv.to_string())]);
    let id = commit_callback(&local.app).await;
    local.app.dispatch(std::slice::from_ref(&id)).await;

    let cb = wait_for_status(&local.app, &id, CallbackStatus::Dead).await;
    assert_eq!(cb.attempts, 1, "not retried");
    assert!(cb.last_error.as_deref().unwrap().contains("isv.invalid-parameter"), "{:?}", cb.last_error);
    let dead = local.app.queue.receive(Lane::Dead, 10, 5).await.unwrap();
    assert_eq!(dead.len(), 1);
    // One dead-letter shape: the queue message as it was (the reason is on the record).
    let body: serde_json::Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(body, serde_json::json!({"callback_id": id}));
    assert_eq!(local.fake_top.calls().iter().filter(|c| c.method == METHOD).count(), 1);

    // Out of attempts: the same, with the last reason.
    let many: Vec<(u16, String)> = (0..10).map(|_| (502, String::new())).collect();
    local.fake_top.push_answers_for(METHOD, many);
    let id2 = commit_callback(&local.app).await;
    local.app.dispatch(std::slice::from_ref(&id2)).await;
    let cb2 = wait_for_status(&local.app, &id2, CallbackStatus::Dead).await;
    assert_eq!(cb2.attempts, local.app.config.retry.max_attempts);
    assert!(cb2.last_error.unwrap().starts_with("gave up after 8 attempts"));

    // Replay puts it back: the next attempt is accepted.
    local.fake_top.script.lock().unwrap().clear();
    delivery::replay(&local.app, std::slice::from_ref(&id2)).await.unwrap();
    wait_for_status(&local.app, &id2, CallbackStatus::Delivered).await;
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_crash_between_receive_and_acknowledgement_loses_nothing() {
    let (local, _dir) = start_local(&[]).await;
    // A second worker of our own over the same store, on a queue with a 1 s visibility
    // timeout, that we can "crash" at will (local mode's own worker never sees this queue).
    let queue = Arc::new(InProcessQueue::new(Duration::from_secs(1), 10));
    let app = local.app.with_queue(queue.clone());
    let partners = app.config.partners();

    // Crash after receiving, before sending: the message comes back and is delivered.
    let id = commit_callback(&app).await;
    app.dispatch(std::slice::from_ref(&id)).await;
    let first = queue.receive(Lane::Main, 1, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    drop(first); // the worker died here
    let again = queue.receive(Lane::Main, 1, 3).await.unwrap();
    assert_eq!(again.len(), 1, "the message came back after the visibility timeout");
    assert_eq!(delivery::attempt(&app, partners.as_ref(), &again[0].body).await, Disposition::Done);
    assert_eq!(callback(&app, &id).await.status, CallbackStatus::Delivered);

    // Crash after sending and recording, before deleting the message: it comes back, and the
    // delivered callback is not sent a second time.
    let back = queue.receive(Lane::Main, 1, 3).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(delivery::attempt(&app, partners.as_ref(), &back[0].body).await, Disposition::Done);
    queue.delete(Lane::Main, &back[0].receipt).await.unwrap();
    assert_eq!(local.fake_top.delivered(METHOD).len(), 1);

    // A hand-off lost between commit and queue: the sweeper queues it again once overdue.
    let lost = commit_callback(&app).await;
    let requeued = delivery::requeue_overdue(&app, chrono::Duration::seconds(-1)).await.unwrap();
    assert!(requeued >= 1, "the demo catalogue's own item.notify callbacks may be pending too");
    let mut bodies = Vec::new();
    loop {
        let got = queue.receive(Lane::Main, 10, 1).await.unwrap();
        if got.is_empty() {
            break;
        }
        for m in got {
            queue.delete(Lane::Main, &m.receipt).await.unwrap();
            bodies.push(m.body);
        }
    }
    assert_eq!(bodies.len(), requeued);
    assert!(bodies.iter().any(|b| b.contains(&lost)), "the lost hand-off is queued again");
    local.stop();
}
