//! Selling under contention on the real stores: 200 concurrent creates (one seat each) on a
//! departure with 40 seats, and the same create sent 5 times at once — on the embedded store
//! of local mode and on DynamoDB Local. Exactly 40 sell; the seats end at 0; a retried create
//! locks one seat and gets five identical answers.

use crate::fixture;

use std::sync::Arc;

use busgate_domain::catalogue::{apply_import, ImportOptions};
use busgate_domain::orders::{create, orders_of_departure, OrderError, RefusalCode};
use busgate_domain::store::Store;
use busgate_tests::{embedded_store, emulator_store};
use fixture::{catalogue, now, request, request_on, seats, settings};

async fn with_catalogue(store: Arc<dyn Store>) -> Arc<dyn Store> {
    apply_import(store.as_ref(), &catalogue(), now(), &ImportOptions::default(), &|_, _| {}).await.expect("catalogue imports");
    store
}

async fn two_hundred_buyers_forty_seats(store: Arc<dyn Store>) {
    let mut handles = Vec::new();
    for i in 0..200 {
        let st = store.clone();
        handles
            .push(tokio::spawn(async move { create(st.as_ref(), &request_on("S40", &format!("92{i:08}"), 1, (12, 0)), now(), &settings()).await }));
    }
    let (mut ok, mut full, mut busy) = (0, 0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(OrderError::Refused { code: RefusalCode::NotEnoughSeats, .. }) => full += 1,
            // Heavy contention may exhaust a create's retries: Fliggy retries those (system-error);
            // they must never have locked a seat.
            Err(OrderError::Busy(_)) => busy += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    eprintln!("sold {ok}, sold out {full}, busy {busy}");
    assert_eq!(ok, 40, "exactly the 40 seats are sold ({full} sold out, {busy} busy)");
    assert_eq!((full, busy), (160, 0), "the rest get 余票不足");
    assert_eq!(seats(store.as_ref(), "S40").await, 0);
    assert_eq!(orders_of_departure(store.as_ref(), "S40").await.unwrap().len(), 40);
}

async fn five_identical_creates_at_once(store: Arc<dyn Store>) {
    let before = seats(store.as_ref(), "S72").await;
    let mut handles = Vec::new();
    for _ in 0..5 {
        let st = store.clone();
        handles.push(tokio::spawn(async move { create(st.as_ref(), &request("930000000001", 1), now(), &settings()).await }));
    }
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap().expect("every twin gets the stored answer"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "five identical answers");
    assert_eq!(seats(store.as_ref(), "S72").await, before - 1, "one seat taken");
    let orders = orders_of_departure(store.as_ref(), "S72").await.unwrap();
    assert_eq!(orders.iter().filter(|o| o.alitrip_order_id == "930000000001").count(), 1, "one order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_never_oversells_and_dedupes_retries() {
    let (store, _dir) = embedded_store();
    let store = with_catalogue(store).await;
    two_hundred_buyers_forty_seats(store.clone()).await;
    five_identical_creates_at_once(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_never_oversells_and_dedupes_retries() {
    let Some(dynamo) = emulator_store().await else { return };
    let store = with_catalogue(dynamo.clone()).await;
    two_hundred_buyers_forty_seats(store.clone()).await;
    five_identical_creates_at_once(store).await;
    dynamo.drop_table().await.unwrap();
}
