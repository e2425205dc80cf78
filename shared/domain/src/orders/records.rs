//! Where orders live in the store (layout in the module doc of [`crate::orders`]), their
//! encoding, the ids, the settings, and the race-retry helpers.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::gmt8;
use crate::store::{Condition, Item, Key, Store, StoreError, Write};

use super::error::OrderError;
use super::model::{Order, OrderStatus, RefusedCreate};

/// Index partition of orders in `1`, sorted by `lockExpireTime`.
pub const LOCKED_INDEX_PK: &str = "ORDERS#LOCKED";
/// Index partition of orders in `2`, sorted by the async issue deadline.
pub const ISSUING_INDEX_PK: &str = "ORDERS#ISSUING";
/// Index partition of pending async refunds, oldest first.
pub const PENDING_REFUNDS_INDEX_PK: &str = "REFUNDS#PENDING";

/// `REFUNDS#DAY#<yyyy-MM-dd>`: refunds (no longer pending) accepted on a GMT+8 day.
pub fn refunds_day_index_pk(day: NaiveDate) -> String {
    format!("REFUNDS#DAY#{}", day.format("%Y-%m-%d"))
}

/// How many times an operation is decided again after losing a race.
pub const MAX_ATTEMPTS: usize = 10;

/// The order settings of §2.2.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `hold_minutes`: unpaid seat lock.
    pub hold_minutes: i64,
    /// `issue_mode=async`.
    pub async_issue: bool,
    /// `async_issue_deadline_minutes`.
    pub async_issue_deadline_minutes: i64,
    /// `refund_mode=async`.
    pub async_refund: bool,
    /// `in_flight_wait_ms`: how long a create waits for a concurrent twin's stored answer.
    pub in_flight_wait_ms: u64,
    /// Departures as this container last read them (see [`crate::catalogue::DepartureCache`]);
    /// `None`: always read.
    pub departures: Option<std::sync::Arc<crate::catalogue::DepartureCache>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hold_minutes: 30,
            async_issue: false,
            async_issue_deadline_minutes: 10,
            async_refund: false,
            in_flight_wait_ms: 2000,
            departures: None,
        }
    }
}

/// Fixed-width UTC time text: sorts like time.
pub fn sort_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// GMT+8 `yyyy-MM-dd HH:mm:ss`, as every answer and callback writes times.
pub fn wire_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&gmt8()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `ORD#<alitripOrderId>` / `ORD`.
pub fn order_key(alitrip_order_id: &str) -> Key {
    Key::new(format!("ORD#{alitrip_order_id}"), "ORD")
}

/// `DORD#<scheduleId>`: the orders of one departure.
pub fn departure_orders_pk(schedule_id: &str) -> String {
    format!("DORD#{schedule_id}")
}

/// `DORD#<scheduleId>` / `<alitripOrderId>`.
pub fn membership_key(schedule_id: &str, alitrip_order_id: &str) -> Key {
    Key::new(departure_orders_pk(schedule_id), alitrip_order_id)
}

/// `ORDERS#DAY#<yyyy-MM-dd>`: orders created on a GMT+8 day.
pub fn day_index_pk(day: NaiveDate) -> String {
    format!("ORDERS#DAY#{}", day.format("%Y-%m-%d"))
}

/// `RF#<refundId>` / `RF`.
pub fn refund_key(refund_id: &str) -> Key {
    Key::new(format!("RF#{refund_id}"), "RF")
}

/// `MR#<serial>` / `MR`.
pub fn money_refund_key(serial: &str) -> Key {
    Key::new(format!("MR#{serial}"), "MR")
}

/// The record stored under an `alitripOrderId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OrderRecord {
    Order(Box<Order>),
    Refused(RefusedCreate),
}

impl OrderRecord {
    pub fn fingerprint(&self) -> &str {
        match self {
            OrderRecord::Order(o) => &o.fingerprint,
            OrderRecord::Refused(r) => &r.fingerprint,
        }
    }
}

/// The order record at `version`, indexed by its status.
pub fn order_item(order: &Order, version: u64) -> Item {
    let body = serde_json::to_string(&OrderRecord::Order(Box::new(order.clone()))).expect("order serialises");
    let item = Item::new(order_key(&order.alitrip_order_id), body).with_version(version);
    match order.status {
        OrderStatus::Locked => item.with_index(LOCKED_INDEX_PK, format!("{}#{}", sort_time(order.lock_expire_at), order.alitrip_order_id)),
        OrderStatus::Issuing => item
            .with_index(ISSUING_INDEX_PK, format!("{}#{}", sort_time(order.issue_deadline.unwrap_or(order.lock_expire_at)), order.alitrip_order_id)),
        _ => item,
    }
}

/// The write replacing an order read at `version`.
pub fn update_order(order: &Order, version: u64) -> Write {
    Write::Put { item: order_item(order, version + 1), condition: Condition::Version(version) }
}

/// The stored refusal record (version 1, new).
pub fn refused_item(r: &RefusedCreate) -> Item {
    Item::new(order_key(&r.alitrip_order_id), serde_json::to_string(&OrderRecord::Refused(r.clone())).expect("refusal serialises"))
}

/// Body of a `DORD#` membership record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub alitrip_order_id: String,
    pub agent_order_id: String,
    pub created_at: DateTime<Utc>,
}

pub fn membership_item(order: &Order) -> Item {
    let m =
        Membership { alitrip_order_id: order.alitrip_order_id.clone(), agent_order_id: order.agent_order_id.clone(), created_at: order.created_at };
    Item::new(membership_key(&order.schedule_id, &order.alitrip_order_id), serde_json::to_string(&m).expect("membership serialises")).with_index(
        day_index_pk(order.created_at.with_timezone(&gmt8()).date_naive()),
        format!("{}#{}", sort_time(order.created_at), order.alitrip_order_id),
    )
}

/// Body of a refund pointer (`RF#<refundId>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundPointer {
    pub refund_id: String,
    pub alitrip_order_id: String,
    pub created_at: DateTime<Utc>,
    /// Waiting for the async decision.
    pub pending: bool,
}

pub fn refund_pointer_item(p: &RefundPointer, version: u64) -> Item {
    let item = Item::new(refund_key(&p.refund_id), serde_json::to_string(p).expect("pointer serialises")).with_version(version);
    let sk = format!("{}#{}", sort_time(p.created_at), p.refund_id);
    if p.pending {
        item.with_index(PENDING_REFUNDS_INDEX_PK, sk)
    } else {
        item.with_index(refunds_day_index_pk(p.created_at.with_timezone(&gmt8()).date_naive()), sk)
    }
}

/// Body of a money refund serial record (`MR#<serial>`): written `Absent`, so a serial is
/// used by one action only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SerialRecord {
    pub serial: String,
    pub alitrip_order_id: String,
    pub total: i64,
    pub at: DateTime<Utc>,
}

pub fn serial_insert(r: &SerialRecord) -> Write {
    Write::Put { item: Item::new(money_refund_key(&r.serial), serde_json::to_string(r).expect("serial serialises")), condition: Condition::Absent }
}

/// An order as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedOrder {
    pub order: Order,
    pub version: u64,
}

/// Reads the record stored under an `alitripOrderId` (one `get`).
pub async fn load_record(store: &dyn Store, alitrip_order_id: &str) -> Result<Option<(OrderRecord, u64)>, StoreError> {
    match store.get(&order_key(alitrip_order_id)).await? {
        Some(item) => Ok(Some((item.decode::<OrderRecord>()?, item.version))),
        None => Ok(None),
    }
}

/// Reads an order as it is stored (no lazy expiry): `None` for an unknown id or a refused
/// create. For the CLI.
pub async fn get_order(store: &dyn Store, alitrip_order_id: &str) -> Result<Option<Order>, StoreError> {
    Ok(match load_record(store, alitrip_order_id).await? {
        Some((OrderRecord::Order(o), _)) => Some(*o),
        _ => None,
    })
}

fn decode_orders(items: Vec<Item>) -> Result<Vec<Order>, StoreError> {
    let mut out = Vec::new();
    for item in items {
        if let OrderRecord::Order(o) = item.decode::<OrderRecord>()? {
            out.push(*o);
        }
    }
    Ok(out)
}

/// Orders in `1`, soonest lock end first (one index query).
pub async fn list_locked(store: &dyn Store) -> Result<Vec<Order>, StoreError> {
    decode_orders(store.query_index(LOCKED_INDEX_PK, "").await?)
}

/// Orders in `2` (async issue pending), soonest deadline first (one index query).
pub async fn list_issuing(store: &dyn Store) -> Result<Vec<Order>, StoreError> {
    decode_orders(store.query_index(ISSUING_INDEX_PK, "").await?)
}

/// Pending async refunds, oldest first (one index query).
pub async fn list_pending_refunds(store: &dyn Store) -> Result<Vec<RefundPointer>, StoreError> {
    store.query_index(PENDING_REFUNDS_INDEX_PK, "").await?.iter().map(Item::decode).collect()
}

/// Refunds accepted on a GMT+8 day that are no longer pending, oldest first (one index query).
pub async fn list_refunds_created_on(store: &dyn Store, day: NaiveDate) -> Result<Vec<RefundPointer>, StoreError> {
    store.query_index(&refunds_day_index_pk(day), "").await?.iter().map(Item::decode).collect()
}

/// The orders of a departure, by `alitripOrderId` (one query plus one `get` per order).
pub async fn orders_of_departure(store: &dyn Store, schedule_id: &str) -> Result<Vec<Order>, StoreError> {
    let mut out = Vec::new();
    for m in store.query(&departure_orders_pk(schedule_id), "").await? {
        if let Some(o) = get_order(store, &m.key.sk).await? {
            out.push(o);
        }
    }
    Ok(out)
}

/// The orders created on a GMT+8 day, oldest first (one index query plus one `get` per order).
pub async fn orders_created_on(store: &dyn Store, day: NaiveDate) -> Result<Vec<Order>, StoreError> {
    let mut out = Vec::new();
    for m in store.query_index(&day_index_pk(day), "").await? {
        let m: Membership = m.decode()?;
        if let Some(o) = get_order(store, &m.alitrip_order_id).await? {
            out.push(o);
        }
    }
    Ok(out)
}

/// A new human-readable id: `<prefix>` + yyMMdd (GMT+8) + 8 random digits
/// (`BG22110104958213`, `RF…`, `MR…`). No shared counter (one hot record every sale of the
/// day would update, and a round trip): the record the id names is written with
/// `Condition::Absent` in the same transaction as the change, so a collision (one in 10^8
/// per id of the day) only fails that commit, which is decided again with a new id.
pub fn new_id(prefix: &str, now: DateTime<Utc>) -> String {
    use rand::Rng;
    let day = now.with_timezone(&gmt8()).format("%y%m%d");
    let n: u32 = rand::rng().random_range(0..100_000_000);
    format!("{prefix}{day}{n:08}")
}

/// `AGENT#<agentOrderId>` / `AGENT`: claims a Busgate order id (written `Absent` with the
/// order) and points to the order (its body is the `alitripOrderId`).
pub fn agent_id_key(agent_order_id: &str) -> Key {
    Key::new(format!("AGENT#{agent_order_id}"), "AGENT")
}

/// The write that claims `order`'s Busgate id in its create transaction.
pub fn agent_id_claim(order: &Order) -> Write {
    let body = serde_json::json!({ "alitripOrderId": order.alitrip_order_id }).to_string();
    Write::Put { item: Item::new(agent_id_key(&order.agent_order_id), body), condition: Condition::Absent }
}

/// The `alitripOrderId` of a Busgate order id (one key read), for orders created since ids
/// are claimed.
pub async fn alitrip_id_of(store: &dyn Store, agent_order_id: &str) -> Result<Option<String>, StoreError> {
    let Some(item) = store.get(&agent_id_key(agent_order_id)).await? else { return Ok(None) };
    let v: serde_json::Value = item.decode()?;
    Ok(v.get("alitripOrderId").and_then(|v| v.as_str()).map(str::to_string))
}

/// Whether a store error means "decide again on fresh reads".
pub fn is_race(e: &StoreError) -> bool {
    matches!(e, StoreError::ConditionFailed { .. } | StoreError::Conflict)
}

/// A short jittered pause before attempt `attempt` (after a conflict).
pub async fn pause(attempt: usize) {
    use rand::Rng;
    let base = 2u64 << attempt.min(5);
    let ms = rand::rng().random_range(1..=base + 3);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Commits `writes`: `Ok(true)` when done, `Ok(false)` when a race was lost (decide again,
/// after a short pause for a conflict), `Err` for a store failure.
pub async fn commit(store: &dyn Store, writes: Vec<Write>, attempt: usize) -> Result<bool, OrderError> {
    match store.transact(writes).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => {
            pause(attempt).await;
            Ok(false)
        }
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The error after [`MAX_ATTEMPTS`] lost races.
pub fn contention() -> OrderError {
    tracing::warn!("order contention did not settle");
    OrderError::Busy("contention, try again".into())
}

/// A departure for a decision, from `settings`' cache on a first attempt (see
/// [`crate::catalogue::load_departure_cached`]).
pub async fn departure_for(
    store: &dyn Store,
    settings: &Settings,
    schedule_id: &str,
    attempt: usize,
) -> Result<(Option<crate::catalogue::LoadedDeparture>, bool), StoreError> {
    crate::catalogue::load_departure_cached(store, settings.departures.as_deref(), schedule_id, attempt == 0).await
}
