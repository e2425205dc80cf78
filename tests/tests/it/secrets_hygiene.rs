//! Secrets never reach a log or a stored record: every log line of a busy local mode (signed
//! and forged requests, a callback that fails in transport and one that is delivered) is
//! captured at TRACE level and searched for each secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use busgate_cli::local::DEMO_QIMEN_SECRET;
use busgate_domain::outbox::{new_callback_id, Callback, CallbackStatus};
use busgate_edge::{BusRoute, Route};
use busgate_tests::{call_bus, start_local};
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOP_SECRET: &str = "top-secret-value-7f3a9c";
const SESSION: &str = "session-value-5b21e0";
const RELATION_SECRET: &str = "relation-secret-value-99d1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_logged_or_stored() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).json().init();

    let (local, _dir) = start_local(&[
        ("BUSGATE_TOP_SECRET", TOP_SECRET),
        ("BUSGATE_TOP_SESSION", SESSION),
        ("BUSGATE_RELATION_APP_SECRET", RELATION_SECRET),
        ("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0"),
    ])
    .await;
    assert!(!format!("{:?}", local.app.config).contains(TOP_SECRET), "Debug of the configuration shows a secret");

    // Signed and forged requests.
    let (_, ok) = call_bus(&local.base_url(), Route::Bus(BusRoute::FromCities), &json!({}), DEMO_QIMEN_SECRET).await;
    assert_eq!(ok["retCode"], "0");
    let (_, forged) = call_bus(&local.base_url(), Route::Bus(BusRoute::FromCities), &json!({}), "wrong").await;
    assert_eq!(forged["retCode"], "sign-check-failure");

    // A callback whose first attempt fails in transport (the URL carries the session), then a
    // relation call whose parameters carry the app secret.
    local.fake_top.push_answers_for("taobao.bus.agent.bookticket.confirm", [(502, String::new())]);
    let now = local.app.clock.now();
    let cb = Callback::top(new_callback_id(now), "taobao.bus.agent.bookticket.confirm", "param_agent_confirm_book_r_q", "{}".into(), "t", now);
    local.app.store.transact(vec![cb.insert()]).await.unwrap();
    local.app.dispatch(std::slice::from_ref(&cb.id)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stored: Callback = local.app.store.get(&Callback::key(&cb.id)).await.unwrap().unwrap().decode().unwrap();
        if stored.status == CallbackStatus::Delivered {
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let calls = local.fake_top.calls();
    assert!(calls.iter().any(|c| c.params.get("session").map(String::as_str) == Some(SESSION)), "the session is sent");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("callback attempt"), "the capture works");
    for secret in [DEMO_QIMEN_SECRET, TOP_SECRET, SESSION, RELATION_SECRET] {
        assert!(!logs.contains(secret), "a log line shows {secret}");
    }
    // Nor in what the operator sees of callbacks.
    for item in local.app.store.query_index(Callback::index_pk(CallbackStatus::Delivered), "").await.unwrap() {
        for secret in [TOP_SECRET, SESSION, RELATION_SECRET] {
            assert!(!item.body.contains(secret), "a stored callback shows {secret}");
        }
    }
    local.stop();
}
