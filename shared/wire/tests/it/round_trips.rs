//! Store round trips per sale (#16): create order is one round trip when the container has
//! seen the departure and two when cold; confirm and refund apply are two. The container's
//! departure cache is only ever trusted to *accept*: a stale entry fails the commit (the
//! departure's version, the seat floor) and is read again, and a refusal is never answered
//! from it. Counted on the memory store, which runs the same conformance suite as DynamoDB.

use std::sync::Arc;

use crate::fixture::orders::{self, create, OrderError, RefundApplyRequest, RefundEntry, RefusalCode, Settings};
use crate::fixture::*;
use busgate_domain::catalogue::{stop_departure, DepartureCache, ImportOptions};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Counting, Store};

/// The fixture's catalogue behind a call counter.
async fn counted() -> Arc<Counting<Arc<MemoryStore>>> {
    Arc::new(Counting::new(store().await))
}

fn cached() -> Settings {
    Settings { departures: Some(Arc::new(DepartureCache::default())), ..Settings::default() }
}

fn calls(s: &Counting<Arc<MemoryStore>>) -> usize {
    let n = s.calls.total();
    s.calls.reset();
    n
}

#[tokio::test]
async fn a_sale_costs_one_round_trip_warm_two_cold() {
    let store = counted().await;
    let settings = cached();
    store.calls.reset();
    let a = create(store.as_ref(), &request("900000000001", 1), now(), &settings).await.unwrap();
    assert_eq!(calls(&store), 2, "cold: the departure, then one transaction");
    create(store.as_ref(), &request("900000000002", 2), now(), &settings).await.unwrap();
    assert_eq!(calls(&store), 1, "warm: one transaction");
    // Fliggy's retry: the conditional put finds the stored order; no read first.
    let again = create(store.as_ref(), &request("900000000001", 1), now(), &settings).await.unwrap();
    assert_eq!(again, a, "the same answer");
    assert_eq!(calls(&store), 1);
    // A different body under the same id is still refused.
    let other = create(store.as_ref(), &request("900000000001", 2), now(), &settings).await;
    assert!(matches!(other, Err(OrderError::Invalid { .. })), "{other:?}");
    calls(&store);

    // Confirm: the order, then one transaction (the departure from the cache).
    orders::confirm(store.as_ref(), "900000000001", None, now(), &settings).await.result.unwrap();
    assert_eq!(calls(&store), 2);
    // Refund apply: the order, then one transaction (no id counter).
    let order = orders::get_order(store.as_ref(), "900000000001").await.unwrap().unwrap();
    calls(&store);
    let req = RefundApplyRequest {
        alitrip_order_id: "900000000001".into(),
        entries: vec![RefundEntry {
            path: "passengerList[0]".into(),
            ticket_id: Some(order.passengers[0].ticket.ticket_id.clone()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let r = orders::apply_refund(store.as_ref(), &req, now(), &settings).await.result.unwrap();
    assert_eq!(r["status"], "11", "{r:?}");
    assert_eq!(calls(&store), 2);
    assert_eq!(seats(store.as_ref(), "S72").await, 8, "10 seats, 3 sold, 1 refunded");
}

#[tokio::test]
async fn ids_are_unique_without_a_counter() {
    let store = counted().await;
    let settings = cached();
    let mut ids = std::collections::HashSet::new();
    for i in 0..10 {
        let a = create(store.as_ref(), &request(&format!("9100000000{i:02}"), 1), now(), &settings).await.unwrap();
        let id = a["agentOrderId"].as_str().unwrap().to_string();
        assert!(id.len() == 16 && id.starts_with("BG221101") && id[2..].bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert_eq!(orders::alitrip_id_of(store.as_ref(), &id).await.unwrap().as_deref(), Some(format!("9100000000{i:02}").as_str()));
        assert!(ids.insert(id));
    }
    assert!(store.query("SEQ#BG#221101", "").await.unwrap().is_empty(), "no shared counter record");
}

#[tokio::test]
async fn a_stale_cache_never_sells_a_stopped_departure() {
    let store = counted().await;
    let settings = cached();
    create(store.as_ref(), &request("920000000001", 1), now(), &settings).await.unwrap();
    // Another container (the back office) stops the departure: its version moves on.
    stop_departure(store.as_ref(), "S72", "车辆故障", now(), &ImportOptions::default()).await.unwrap();
    let r = create(store.as_ref(), &request("920000000002", 1), now(), &settings).await;
    assert!(matches!(r, Err(OrderError::Refused { code: RefusalCode::Stopped, .. })), "{r:?}");
}

#[tokio::test]
async fn a_stale_cache_never_oversells_and_never_refuses_seats_that_came_back() {
    let store = counted().await;
    let mine = cached();
    let other = Settings::default();
    create(store.as_ref(), &request("930000000001", 1), now(), &mine).await.unwrap();
    // Another container sells all but one seat (of 10): this container's cache still says 9 left.
    create(store.as_ref(), &request("930000000002", 8), now(), &other).await.unwrap();
    assert_eq!(seats(store.as_ref(), "S72").await, 1);
    let r = create(store.as_ref(), &request("930000000003", 2), now(), &mine).await;
    assert!(matches!(r, Err(OrderError::Refused { code: RefusalCode::NotEnoughSeats, .. })), "{r:?}");
    assert_eq!(seats(store.as_ref(), "S72").await, 1, "nothing oversold");
    // This container now remembers 1 seat left; the other closes its order: 9 again. A sale
    // of 2 is decided on a fresh read, not refused from the cache.
    orders::close(store.as_ref(), "930000000002", None, now()).await.result.unwrap();
    create(store.as_ref(), &request("930000000004", 2), now(), &mine).await.unwrap();
    assert_eq!(seats(store.as_ref(), "S72").await, 7);
}
