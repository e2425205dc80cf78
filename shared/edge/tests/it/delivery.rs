//! The outbox worker against the `Partners` port alone (no HTTP): what it sends is what the
//! callback holds, and each answer the port classifies moves the callback's state machine.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use busgate_domain::outbox::{Callback, CallbackStatus, Destination, Disposition, Outcome, Partners, QueueMessage, Sent};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::Store;
use busgate_domain::{gmt8, ManualClock};
use busgate_edge::outbound::delivery::attempt;
use busgate_edge::{App, Config};
use chrono::{DateTime, TimeZone, Utc};

/// A partner that answers from a script and remembers what it was sent.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Outcome>>,
    sent: Mutex<Vec<Destination>>,
}

#[async_trait::async_trait]
impl Partners for Scripted {
    async fn send(&self, destination: &Destination, _now: DateTime<Utc>) -> Sent {
        self.sent.lock().unwrap().push(destination.clone());
        let outcome = self.answers.lock().unwrap().pop_front().expect("an answer was scripted");
        Sent { outcome, answer: None }
    }
}

fn now() -> DateTime<Utc> {
    gmt8().with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().unwrap().with_timezone(&Utc)
}

/// An app on the memory store holding one pending `taobao.bus.item.notify` callback; the
/// queue message that asks for it.
async fn one_callback(id: &str) -> (App, String, Destination) {
    let store = Arc::new(MemoryStore::new());
    let cb = Callback::top(id, "taobao.bus.item.notify", "param", r#"{"lineId":"L1"}"#.into(), "line L1", now());
    store.transact(vec![cb.insert()]).await.unwrap();
    let config = Config::from_lookup(&|_| None).unwrap();
    let app = App::new(config, store, Arc::new(busgate_adapters::NoQueue), Arc::new(ManualClock::new(now())));
    (app, QueueMessage::Deliver { callback_id: id.into() }.body(), cb.destination)
}

async fn stored(app: &App, id: &str) -> Callback {
    app.store.get(&Callback::key(id)).await.unwrap().unwrap().decode().unwrap()
}

#[tokio::test]
async fn a_retry_waits_what_the_partner_asked_then_a_delivery_is_final() {
    let (app, message, destination) = one_callback("CB-RETRY").await;
    let partner = Scripted::default();
    partner.answers.lock().unwrap().extend([Outcome::Retry { reason: "banned".into(), wait_secs: Some(45) }, Outcome::Delivered]);

    assert_eq!(attempt(&app, &partner, &message).await, Disposition::RetryAfter(45), "the platform's wait beats the 10 s backoff");
    let cb = stored(&app, "CB-RETRY").await;
    assert_eq!((cb.status, cb.attempts, cb.last_error.as_deref()), (CallbackStatus::Pending, 1, Some("banned")));
    assert_eq!(cb.due_at, Some(now() + chrono::Duration::seconds(45)));

    assert_eq!(attempt(&app, &partner, &message).await, Disposition::Done);
    let cb = stored(&app, "CB-RETRY").await;
    assert_eq!((cb.status, cb.attempts, cb.delivered_at), (CallbackStatus::Delivered, 2, Some(now())));

    // The same message again (SQS delivers at least once): nothing is sent a second time.
    assert_eq!(attempt(&app, &partner, &message).await, Disposition::Done);
    assert_eq!(*partner.sent.lock().unwrap(), vec![destination.clone(), destination], "exactly what the callback holds, twice");
}

#[tokio::test]
async fn a_permanent_refusal_makes_the_callback_dead_with_the_reason() {
    let (app, message, _) = one_callback("CB-DEAD").await;
    let partner = Scripted::default();
    partner.answers.lock().unwrap().push_back(Outcome::Permanent { reason: "isv.invalid-parameter".into() });
    assert_eq!(attempt(&app, &partner, &message).await, Disposition::Dead("isv.invalid-parameter".into()));
    let cb = stored(&app, "CB-DEAD").await;
    assert_eq!((cb.status, cb.last_error.as_deref()), (CallbackStatus::Dead, Some("isv.invalid-parameter")));
    // A dead callback waits for a replay: another attempt sends nothing.
    assert_eq!(attempt(&app, &partner, &message).await, Disposition::Done);
    assert_eq!(partner.sent.lock().unwrap().len(), 1);
}
