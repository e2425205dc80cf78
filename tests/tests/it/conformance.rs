//! One conformance suite for every adapter of the ports: the same test bodies run against the
//! in-memory store, the embedded redb store and DynamoDB Local; and against the in-process
//! queue and SQS (moto). Conditional writes and transactions must behave identically.

use std::sync::Arc;
use std::time::Duration;

use busgate_adapters::InProcessQueue;
use busgate_domain::queue::{Lane, Queue};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Condition, Item, Key, Store, StoreError, Write};
use busgate_tests::{embedded_store, emulator_queue, emulator_store};

fn k(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

/// The failing write's index and the record as the store found it there (what a caller that
/// lost a conditional put answers from without reading it again).
#[track_caller]
fn failed(r: Result<(), StoreError>) -> (usize, Option<Item>) {
    match r {
        Err(StoreError::ConditionFailed { index, current }) => (index, current.map(|b| *b)),
        other => panic!("expected a failed condition, got {other:?}"),
    }
}

async fn put_absent_once(s: &dyn Store) {
    let item = Item::new(k("ORDER#1", "O"), r#"{"n":"张三"}"#);
    s.transact(vec![Write::Put { item: item.clone(), condition: Condition::Absent }]).await.unwrap();
    let again = s.transact(vec![Write::Put { item: item.clone().with_version(2), condition: Condition::Absent }]).await;
    assert_eq!(failed(again), (0, Some(item.clone())), "the record that won comes back with the failure");
    assert_eq!(s.get(&item.key).await.unwrap(), Some(item), "the first write stands, byte for byte");
    assert_eq!(s.get(&k("ORDER#2", "O")).await.unwrap(), None);
}

async fn version_guards_updates(s: &dyn Store) {
    let key = k("CASE#1", "C");
    s.transact(vec![Write::Put { item: Item::new(key.clone(), "v1"), condition: Condition::Absent }]).await.unwrap();
    let v2 = Item::new(key.clone(), "v2").with_version(2);
    s.transact(vec![Write::Put { item: v2.clone(), condition: Condition::Version(1) }]).await.unwrap();
    let stale = Item::new(key.clone(), "v2-lost").with_version(2);
    assert_eq!(failed(s.transact(vec![Write::Put { item: stale, condition: Condition::Version(1) }]).await), (0, Some(v2.clone())));
    assert_eq!(s.get(&key).await.unwrap().unwrap().body, "v2");
    // Exists / Version on a missing record fail.
    let missing = Item::new(k("CASE#9", "C"), "x");
    assert!(s.transact(vec![Write::Put { item: missing.clone(), condition: Condition::Exists }]).await.is_err());
    assert!(s.transact(vec![Write::Put { item: missing, condition: Condition::Version(1) }]).await.is_err());
}

async fn transaction_is_all_or_nothing(s: &dyn Store) {
    s.transact(vec![Write::Put { item: Item::new(k("A", "1"), "a"), condition: Condition::Absent }]).await.unwrap();
    let r = s
        .transact(vec![
            Write::Put { item: Item::new(k("B", "1"), "b"), condition: Condition::Absent },
            Write::Put { item: Item::new(k("A", "1"), "a2"), condition: Condition::Absent },
            Write::Count { key: k("C", "1"), delta: 1, floor: None },
        ])
        .await;
    let a = Item::new(k("A", "1"), "a");
    assert_eq!(failed(r), (1, Some(a.clone())), "the failing write is named, with its record");
    assert_eq!(s.get(&k("B", "1")).await.unwrap(), None, "nothing of a failed transaction is written");
    assert_eq!(s.get(&k("C", "1")).await.unwrap(), None);
    assert_eq!(s.get(&k("A", "1")).await.unwrap().unwrap().body, "a");
    // A check that fails cancels the writes beside it; one that holds lets them through.
    let r = s
        .transact(vec![
            Write::Check { key: k("A", "1"), condition: Condition::Version(7) },
            Write::Put { item: Item::new(k("B", "1"), "b"), condition: Condition::Always },
        ])
        .await;
    assert_eq!(failed(r), (0, Some(a)));
    s.transact(vec![
        Write::Check { key: k("A", "1"), condition: Condition::Version(1) },
        Write::Put { item: Item::new(k("B", "1"), "b"), condition: Condition::Always },
    ])
    .await
    .unwrap();
    assert_eq!(s.get(&k("B", "1")).await.unwrap().unwrap().body, "b");
}

async fn counters_never_go_below_floor(s: &dyn Store) {
    let seats = k("DEP#S1", "SEATS");
    s.transact(vec![Write::Put { item: Item::new(seats.clone(), "").with_count(3), condition: Condition::Absent }]).await.unwrap();
    s.transact(vec![Write::Count { key: seats.clone(), delta: -2, floor: Some(0) }]).await.unwrap();
    let (index, current) = failed(s.transact(vec![Write::Count { key: seats.clone(), delta: -2, floor: Some(0) }]).await);
    assert_eq!((index, current.and_then(|c| c.count)), (0, Some(1)), "the counter as it stands");
    let item = s.get(&seats).await.unwrap().unwrap();
    assert_eq!(item.count, Some(1));
    assert_eq!(item.version, 1, "a counter move keeps the version");
    s.transact(vec![Write::Count { key: seats.clone(), delta: 5, floor: Some(0) }]).await.unwrap();
    assert_eq!(s.get(&seats).await.unwrap().unwrap().count, Some(6));
    // Without a floor a missing counter is created (version 0, empty body); with one it fails.
    s.transact(vec![Write::Count { key: k("SEQ", "orders"), delta: 1, floor: None }]).await.unwrap();
    let created = s.get(&k("SEQ", "orders")).await.unwrap().unwrap();
    assert_eq!((created.count, created.version, created.body.as_str()), (Some(1), 0, ""));
    assert_eq!(failed(s.transact(vec![Write::Count { key: k("SEQ", "none"), delta: -1, floor: Some(0) }]).await), (0, None), "absent");
    // A counter move inside a transaction with an order write: both or neither.
    let r = s
        .transact(vec![
            Write::Count { key: seats.clone(), delta: -7, floor: Some(0) },
            Write::Put { item: Item::new(k("ORDER#7", "O"), "o"), condition: Condition::Absent },
        ])
        .await;
    let (index, current) = failed(r);
    assert_eq!((index, current.and_then(|c| c.count)), (0, Some(6)));
    assert_eq!(s.get(&k("ORDER#7", "O")).await.unwrap(), None);
    assert_eq!(s.get(&seats).await.unwrap().unwrap().count, Some(6));
}

async fn queries_by_partition_and_prefix(s: &dyn Store) {
    for sk in ["T#2", "T#1", "O", "T#10"] {
        s.transact(vec![Write::Put { item: Item::new(k("ORDER#5", sk), sk), condition: Condition::Always }]).await.unwrap();
    }
    s.transact(vec![Write::Put { item: Item::new(k("ORDER#50", "O"), "other"), condition: Condition::Always }]).await.unwrap();
    let all: Vec<String> = s.query("ORDER#5", "").await.unwrap().into_iter().map(|i| i.key.sk).collect();
    assert_eq!(all, ["O", "T#1", "T#10", "T#2"], "one partition, sort-key order");
    let tickets: Vec<String> = s.query("ORDER#5", "T#").await.unwrap().into_iter().map(|i| i.key.sk).collect();
    assert_eq!(tickets, ["T#1", "T#10", "T#2"]);
    assert!(s.query("ORDER#6", "").await.unwrap().is_empty());
}

async fn index_follows_writes(s: &dyn Store) {
    let put = |pk: &str, ipk: &str, isk: &str| Write::Put { item: Item::new(k(pk, "C"), pk).with_index(ipk, isk), condition: Condition::Always };
    s.transact(vec![put("CASE#b", "OPEN", "2026-11-02"), put("CASE#a", "OPEN", "2026-11-03"), put("CASE#c", "CLOSED", "2026-11-01")]).await.unwrap();
    let open: Vec<String> = s.query_index("OPEN", "").await.unwrap().into_iter().map(|i| i.key.pk).collect();
    assert_eq!(open, ["CASE#b", "CASE#a"], "index sort-key order");
    let nov3: Vec<String> = s.query_index("OPEN", "2026-11-03").await.unwrap().into_iter().map(|i| i.key.pk).collect();
    assert_eq!(nov3, ["CASE#a"]);
    // Moving a record to another index partition removes it from the first.
    s.transact(vec![put("CASE#b", "CLOSED", "2026-11-04")]).await.unwrap();
    let open: Vec<String> = s.query_index("OPEN", "").await.unwrap().into_iter().map(|i| i.key.pk).collect();
    assert_eq!(open, ["CASE#a"]);
    // A record written without an index entry leaves the index.
    s.transact(vec![Write::Put { item: Item::new(k("CASE#a", "C"), "x"), condition: Condition::Always }]).await.unwrap();
    assert!(s.query_index("OPEN", "").await.unwrap().is_empty());
    s.transact(vec![Write::Delete { key: k("CASE#c", "C"), condition: Condition::Exists }]).await.unwrap();
    let closed: Vec<String> = s.query_index("CLOSED", "").await.unwrap().into_iter().map(|i| i.key.pk).collect();
    assert_eq!(closed, ["CASE#b"]);
}

async fn delete_with_condition(s: &dyn Store) {
    let key = k("LOCK", "1");
    s.transact(vec![Write::Put { item: Item::new(key.clone(), "l").with_expiry(1_900_000_000), condition: Condition::Absent }]).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap().unwrap().expires_at, Some(1_900_000_000));
    let (index, current) = failed(s.transact(vec![Write::Delete { key: key.clone(), condition: Condition::Version(2) }]).await);
    assert_eq!((index, current.map(|c| (c.version, c.body, c.expires_at))), (0, Some((1, "l".to_string(), Some(1_900_000_000)))));
    s.transact(vec![Write::Delete { key: key.clone(), condition: Condition::Version(1) }]).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap(), None);
    assert_eq!(failed(s.transact(vec![Write::Delete { key, condition: Condition::Exists }]).await), (0, None));
}

async fn malformed_transactions_are_refused(s: &dyn Store) {
    let twice = s
        .transact(vec![
            Write::Put { item: Item::new(k("X", "1"), "a"), condition: Condition::Always },
            Write::Count { key: k("X", "1"), delta: 1, floor: None },
        ])
        .await;
    assert!(matches!(twice, Err(StoreError::Invalid(_))));
    assert!(matches!(s.transact(vec![]).await, Err(StoreError::Invalid(_))));
    assert_eq!(s.get(&k("X", "1")).await.unwrap(), None);
}

/// 60 concurrent buyers of one seat each on a departure with 20 seats: exactly 20 orders.
async fn concurrent_sales_never_oversell(s: Arc<dyn Store>) {
    let seats = k("DEP#RUSH", "SEATS");
    s.transact(vec![Write::Put { item: Item::new(seats.clone(), "").with_count(20), condition: Condition::Absent }]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = s.clone();
        let seats = seats.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let r = s
                    .transact(vec![
                        Write::Count { key: seats.clone(), delta: -1, floor: Some(0) },
                        Write::Put { item: Item::new(k(&format!("RUSH-ORDER#{i}"), "O"), "o"), condition: Condition::Absent },
                    ])
                    .await;
                match r {
                    Err(StoreError::Conflict) => tokio::time::sleep(Duration::from_millis(5 + (i % 7) as u64)).await,
                    other => return other,
                }
            }
        }));
    }
    let mut sold = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => sold += 1,
            Err(StoreError::ConditionFailed { index: 0, .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(sold, 20);
    assert_eq!(s.get(&seats).await.unwrap().unwrap().count, Some(0));
}

async fn run_store_suite(make: impl AsyncFnOnce() -> Option<Arc<dyn Store>>) {
    let Some(s) = make().await else { return };
    put_absent_once(s.as_ref()).await;
    version_guards_updates(s.as_ref()).await;
    transaction_is_all_or_nothing(s.as_ref()).await;
    counters_never_go_below_floor(s.as_ref()).await;
    queries_by_partition_and_prefix(s.as_ref()).await;
    index_follows_writes(s.as_ref()).await;
    delete_with_condition(s.as_ref()).await;
    malformed_transactions_are_refused(s.as_ref()).await;
    concurrent_sales_never_oversell(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    run_store_suite(async || Some(Arc::new(MemoryStore::new()) as Arc<dyn Store>)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_conforms() {
    let (store, _dir) = embedded_store();
    run_store_suite(async || Some(store as Arc<dyn Store>)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_conforms() {
    let store = emulator_store().await;
    let cleanup = store.clone();
    run_store_suite(async || store.map(|s| s as Arc<dyn Store>)).await;
    if let Some(s) = cleanup {
        s.drop_table().await.unwrap();
    }
}

/// The queue contract: at-least-once, hidden while received, back after a retry delay,
/// deleted when done, dead-lettered after too many receives.
async fn run_queue_suite(q: Arc<dyn Queue>) {
    q.send(Lane::Main, "m1", 0).await.unwrap();
    let got = q.receive(Lane::Main, 10, 2).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("m1", 1));
    assert!(q.receive(Lane::Main, 10, 0).await.unwrap().is_empty(), "hidden while being processed");
    q.retry_after(Lane::Main, &got[0].receipt, 0).await.unwrap();
    let again = q.receive(Lane::Main, 10, 2).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    q.delete(Lane::Main, &again[0].receipt).await.unwrap();
    // Visibility timeout (1 s here) brings an unacknowledged message back.
    q.send(Lane::Main, "m2", 0).await.unwrap();
    let first = q.receive(Lane::Main, 10, 2).await.unwrap();
    assert_eq!(first[0].body, "m2");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let back = q.receive(Lane::Main, 10, 2).await.unwrap();
    assert_eq!(back.len(), 1, "a crashed worker loses nothing");
    assert_eq!(back[0].receive_count, 2);
    // Third receive exceeds max_receives (2): redriven to the dead lane.
    q.retry_after(Lane::Main, &back[0].receipt, 0).await.unwrap();
    let mut dead = Vec::new();
    for _ in 0..10 {
        assert!(q.receive(Lane::Main, 10, 1).await.unwrap().is_empty(), "redriven, not delivered a third time");
        dead = q.receive(Lane::Dead, 10, 1).await.unwrap();
        if !dead.is_empty() {
            break;
        }
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "m2");
    q.delete(Lane::Dead, &dead[0].receipt).await.unwrap();
    // Delayed messages wait.
    q.send(Lane::Main, "later", 2).await.unwrap();
    assert!(q.receive(Lane::Main, 10, 0).await.unwrap().is_empty());
    let later = q.receive(Lane::Main, 10, 5).await.unwrap();
    assert_eq!(later.len(), 1);
    q.delete(Lane::Main, &later[0].receipt).await.unwrap();
}

#[tokio::test]
async fn in_process_queue_conforms() {
    run_queue_suite(Arc::new(InProcessQueue::new(Duration::from_secs(1), 2))).await;
}

#[tokio::test]
async fn sqs_queue_conforms() {
    if let Some(q) = emulator_queue(1, 2).await {
        run_queue_suite(q).await;
    }
}
