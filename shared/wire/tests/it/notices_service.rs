//! Tokens, the operator's list/show/decide over the store, and the decision sent back.

use std::sync::Arc;

use busgate_domain::notices::*;
use busgate_domain::outbox::{Callback, CallbackStatus, Destination};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Counting, Store};
use busgate_wire::fenbeitong::*;
use chrono::{DateTime, Duration, TimeZone, Utc};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/fenbeitong/");
const FLIGHT_ID: &str = "567687687987899";
const HOTEL_ID: &str = "43546567786878979";
const TRAIN_ID: &str = "132432345456766768790";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).expect("fixture")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 7, 10, 8, 0, 0).unwrap()
}

async fn seeded() -> MemoryStore {
    let store = MemoryStore::new();
    for (i, (company, name)) in [("acme", "flight_refund.json"), ("acme", "hotel_refund.json"), ("globex", "train_rebook.json")].iter().enumerate() {
        let out = receive(&store, company, &fixture(name), t0() + Duration::minutes(i as i64)).await.unwrap();
        assert!(matches!(out, IntakeOutcome::Accepted { .. }));
    }
    store
}

// ---- tokens ----

#[test]
fn tokens_parse_and_lookup() {
    let t = Tokens::parse(" acme=aaaaaaaaaaaaaaaa1 , globex=bbbbbbbbbbbbbbbb2,cccccccccccccccc3, acme=dddddddddddddddd4,").unwrap();
    assert_eq!(t.len(), 4);
    assert_eq!(t.company_for("aaaaaaaaaaaaaaaa1"), Some("acme"));
    assert_eq!(t.company_for("dddddddddddddddd4"), Some("acme"), "a second token for rotation");
    assert_eq!(t.company_for("bbbbbbbbbbbbbbbb2"), Some("globex"));
    assert_eq!(t.company_for("cccccccccccccccc3"), Some(DEFAULT_COMPANY));
    for wrong in ["", "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa1 ", "AAAAAAAAAAAAAAAA1", "acme=aaaaaaaaaaaaaaaa1", "x".repeat(5000).as_str()] {
        assert_eq!(t.company_for(wrong), None, "{wrong:.20}");
        assert_eq!(t.authorize(wrong), Err(NoticeError::Unauthorized));
    }
    assert_eq!(t.authorize("bbbbbbbbbbbbbbbb2"), Ok("globex"));
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("aaaa") && dbg.contains("acme"), "{dbg}");
}

#[test]
fn tokens_configuration_errors_never_show_a_token() {
    assert!(Tokens::parse("").unwrap().is_empty());
    assert_eq!(Tokens::parse("=aaaaaaaaaaaaaaaa1").unwrap_err(), TokensError::EmptyCompany(1));
    assert_eq!(Tokens::parse("a b=aaaaaaaaaaaaaaaa1").unwrap_err(), TokensError::BadCompany(1));
    assert_eq!(Tokens::parse("x=short").unwrap_err(), TokensError::BadToken(1));
    assert_eq!(Tokens::parse("x=").unwrap_err(), TokensError::BadToken(1));
    assert_eq!(Tokens::parse("x=aaaaaaaaaaaaaaaa/1").unwrap_err(), TokensError::BadToken(1));
    let e = Tokens::parse("x=aaaaaaaaaaaaaaaa1,,y=aaaaaaaaaaaaaaaa1").unwrap_err();
    assert_eq!(e, TokensError::DuplicateToken(3, 1));
    assert!(!e.to_string().contains("aaaa"));
    assert!(Tokens::parse("").unwrap().company_for("").is_none());
}

// ---- outbound decision (§2.5; its signature: busgate-signing's tests/fenbeitong.rs) ----

#[test]
fn decision_data_and_route() {
    let approve = decision_data("1", "1", true, "ignored");
    assert_eq!(approve, r#"{"apply_id":"1","third_id":"1"}"#);
    assert_eq!(decision_path(&approve), APPROVE_PATH);
    let reject = decision_data("1", "1", false, "no \"way\"");
    assert_eq!(reject, r#"{"apply_id":"1","category":"9","comment":"no \"way\"","third_id":"1"}"#);
    assert_eq!(decision_path(&reject), REJECT_PATH);
    // The bytes busgate-signing's tests sign (tests/fenbeitong.rs).
    let data = decision_data(FLIGHT_ID, FLIGHT_ID, false, "行程未变更");
    assert_eq!(data, r#"{"apply_id":"567687687987899","category":"9","comment":"行程未变更","third_id":"567687687987899"}"#);
}

// ---- list / show / decide ----

#[tokio::test]
async fn list_pending_and_all_in_arrival_order() {
    let store = seeded().await;
    let ids = |v: Vec<NoticeRecord>| v.into_iter().map(|r| r.apply_id).collect::<Vec<_>>();
    assert_eq!(ids(list(&store, true).await.unwrap()), vec![FLIGHT_ID, HOTEL_ID, TRAIN_ID]);
    decide(&store, HOTEL_ID, true, "", "alice", t0() + Duration::hours(1)).await.unwrap();
    assert_eq!(ids(list(&store, true).await.unwrap()), vec![FLIGHT_ID, TRAIN_ID]);
    let all = list(&store, false).await.unwrap();
    assert_eq!(ids(all.clone()), vec![FLIGHT_ID, HOTEL_ID, TRAIN_ID]);
    assert_eq!(all[1].status, NoticeStatus::Approved);
    assert_eq!(all[2].company, "globex");
}

#[tokio::test]
async fn show_returns_raw_body_and_links_an_order() {
    let store = Counting::new(seeded().await);
    let lookup = FnOrderLookup(|company: &str, n: &Notice| {
        (company == "acme" && n.original_order_ids().contains(&"456677687688779"))
            .then(|| OrderLink { order_id: "BG-1".into(), matched_by: "fenbeitong order 456677687688779".into() })
    });
    store.calls.reset();
    let view = show(&store, FLIGHT_ID, &lookup).await.unwrap().unwrap();
    assert_eq!(store.calls.total(), 1, "one round trip");
    assert_eq!(view.raw_body.as_bytes(), fixture("flight_refund.json"));
    assert_eq!(view.record.notice.apply.id, FLIGHT_ID);
    assert_eq!(view.order.unwrap().order_id, "BG-1");
    let view = show(&store, HOTEL_ID, &lookup).await.unwrap().unwrap();
    assert_eq!(view.order, None);
    assert_eq!(show(&store, TRAIN_ID, &NoOrderLookup).await.unwrap().unwrap().order, None);
    assert!(show(&store, "nope", &NoOrderLookup).await.unwrap().is_none());
}

#[tokio::test]
async fn decide_records_the_decision_and_an_outbox_callback_atomically() {
    let store = seeded().await;
    let at = t0() + Duration::hours(2);
    let d = decide(&store, TRAIN_ID, false, "  行程未变更 ", "bob", at).await.unwrap();
    assert_eq!((d.approve, d.comment.as_deref(), d.operator.as_str(), d.decided_at), (false, Some("行程未变更"), "bob", at));
    let record = show(&store, TRAIN_ID, &NoOrderLookup).await.unwrap().unwrap().record;
    assert_eq!(record.status, NoticeStatus::Rejected);
    assert_eq!(record.decision.as_ref(), Some(&d));
    let cb: Callback = store.get(&Callback::key(&d.callback_id)).await.unwrap().unwrap().decode().unwrap();
    assert_eq!(cb.status, CallbackStatus::Pending);
    assert_eq!(
        cb.destination,
        Destination::FenbeitongDecision { company: "globex".into(), apply_id: TRAIN_ID.into(), approve: false, comment: "行程未变更".into() }
    );
    assert_eq!(decision_call(TRAIN_ID, false, "行程未变更"), (REJECT_PATH, decision_data(TRAIN_ID, TRAIN_ID, false, "行程未变更")));
    assert!(cb.subject.contains(TRAIN_ID));
    let pending = store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap();
    assert_eq!(pending.len(), 1);

    let d2 = decide(&store, FLIGHT_ID, true, "", "alice", at).await.unwrap();
    let cb: Callback = store.get(&Callback::key(&d2.callback_id)).await.unwrap().unwrap().decode().unwrap();
    assert_eq!(
        cb.destination,
        Destination::FenbeitongDecision { company: "acme".into(), apply_id: FLIGHT_ID.into(), approve: true, comment: String::new() }
    );
    assert_eq!(decision_call(FLIGHT_ID, true, ""), (APPROVE_PATH, format!(r#"{{"apply_id":"{FLIGHT_ID}","third_id":"{FLIGHT_ID}"}}"#)));
}

#[tokio::test]
async fn a_second_decision_is_refused() {
    let store = seeded().await;
    decide(&store, FLIGHT_ID, true, "ok", "alice", t0()).await.unwrap();
    let e = decide(&store, FLIGHT_ID, false, "changed my mind", "bob", t0()).await.unwrap_err();
    assert!(matches!(&e, DecideError::AlreadyDecided { approved: true, operator, .. } if operator == "alice"), "{e:?}");
    assert_eq!(e.to_string(), "notice 567687687987899 was already approved by alice at 2022-07-10 08:00:00 UTC");
    let e = decide(&store, FLIGHT_ID, true, "", "alice", t0()).await.unwrap_err();
    assert!(matches!(e, DecideError::AlreadyDecided { .. }));
    assert_eq!(store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap().len(), 1);
    // a redelivery of the notice after the decision is still a duplicate, not a new task
    let out = receive(&store, "acme", &fixture("flight_refund.json"), t0()).await.unwrap();
    assert_eq!(out, IntakeOutcome::Duplicate { apply_id: FLIGHT_ID.into() });
    assert_eq!(list(&store, false).await.unwrap()[0].status, NoticeStatus::Approved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_exactly_one_wins() {
    let store = Arc::new(seeded().await);
    let mut handles = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        handles.push(tokio::spawn(async move { decide(&s, HOTEL_ID, i % 2 == 0, "c", &format!("op{i}"), t0()).await }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(DecideError::AlreadyDecided { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap().len(), 1);
}

#[tokio::test]
async fn decide_input_errors() {
    let store = seeded().await;
    assert_eq!(decide(&store, "nope", true, "", "alice", t0()).await.unwrap_err(), DecideError::NotFound("nope".into()));
    assert!(matches!(decide(&store, FLIGHT_ID, false, "  ", "alice", t0()).await, Err(DecideError::Invalid(_))));
    assert!(matches!(decide(&store, FLIGHT_ID, true, "", " ", t0()).await, Err(DecideError::Invalid(_))));
    assert!(matches!(decide(&store, FLIGHT_ID, true, &"x".repeat(2001), "a", t0()).await, Err(DecideError::Invalid(_))));
    assert_eq!(list(&store, true).await.unwrap().len(), 3, "nothing decided");
}

#[tokio::test]
async fn same_apply_id_from_another_company_is_a_conflict() {
    let store = seeded().await;
    let e = receive(&store, "globex", &fixture("flight_refund.json"), t0()).await.unwrap_err();
    assert_eq!(e, NoticeError::Conflict { apply_id: FLIGHT_ID.into() });
    assert_eq!(show(&store, FLIGHT_ID, &NoOrderLookup).await.unwrap().unwrap().record.company, "acme");
}

#[tokio::test]
async fn intake_costs_one_transaction_and_invalid_costs_nothing() {
    let store = Counting::new(MemoryStore::new());
    receive(&store, "acme", &fixture("hotel_refund.json"), t0()).await.unwrap();
    assert_eq!(store.calls.total(), 1);
    store.calls.reset();
    assert!(receive(&store, "acme", b"{}", t0()).await.is_err());
    assert_eq!(store.calls.total(), 0);
    // duplicate: the failed conditional put, then one read
    receive(&store, "acme", &fixture("hotel_refund.json"), t0()).await.unwrap();
    assert_eq!(store.calls.total(), 2);
}

/// Serves one stale read of a notice: the race where another operator decided between our read
/// and our write.
struct StaleOnce {
    inner: MemoryStore,
    stale: std::sync::Mutex<Option<busgate_domain::store::Item>>,
}

#[async_trait::async_trait]
impl Store for StaleOnce {
    async fn get(&self, key: &busgate_domain::store::Key) -> Result<Option<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        if let Some(item) = self.stale.lock().unwrap().take() {
            return Ok(Some(item));
        }
        self.inner.get(key).await
    }
    async fn query(&self, pk: &str, sk: &str) -> Result<Vec<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        self.inner.query(pk, sk).await
    }
    async fn query_index(&self, pk: &str, sk: &str) -> Result<Vec<busgate_domain::store::Item>, busgate_domain::store::StoreError> {
        self.inner.query_index(pk, sk).await
    }
    async fn transact(&self, writes: Vec<busgate_domain::store::Write>) -> Result<(), busgate_domain::store::StoreError> {
        self.inner.transact(writes).await
    }
}

#[tokio::test]
async fn a_decision_racing_another_is_refused_and_writes_no_callback() {
    let inner = seeded().await;
    let before = inner.get(&notice_key(FLIGHT_ID)).await.unwrap();
    decide(&inner, FLIGHT_ID, false, "no", "alice", t0()).await.unwrap();
    let store = StaleOnce { inner, stale: std::sync::Mutex::new(before) };
    let e = decide(&store, FLIGHT_ID, true, "", "bob", t0()).await.unwrap_err();
    assert!(matches!(&e, DecideError::AlreadyDecided { approved: false, operator, .. } if operator == "alice"), "{e:?}");
    assert_eq!(store.inner.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap().len(), 1);
}
