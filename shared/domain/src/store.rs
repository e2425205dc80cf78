//! The record store port.
//!
//! Busgate's state is a set of records addressed by a partition key and a sort key (the
//! single-table design of DynamoDB). The domain decides a change from records it read, then
//! commits every write of that change in **one atomic, conditional transaction**: a record is
//! written only if it is still at the version it was read at (or still absent), and a seat
//! counter moves only if enough seats remain. A transaction that loses a race fails as a whole
//! with [`StoreError::ConditionFailed`] naming the first write whose condition failed, and the
//! caller decides again on fresh state (fliggy-bus.md §2.7).
//!
//! Two adapters implement it: DynamoDB (`TransactWriteItems`, conditions, `CancellationReasons`)
//! and redb (one write transaction checks every condition, then applies). One conformance
//! suite (`busgate-tests`, `conformance`) runs the same bodies against both.

pub mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Address of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }
}

/// Secondary index entry of a record (the `gsi1` index): used for listings and lookups by
/// another id, never by a request on the hot path that could use the primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    /// The record's document (JSON text, stored as is).
    pub body: String,
    /// Optimistic-concurrency version; 1 for a new record.
    pub version: u64,
    /// A counter that [`Write::Count`] moves atomically (seats left).
    pub count: Option<i64>,
    /// Entry in the secondary index, if any.
    pub index: Option<IndexKey>,
    /// Unix seconds after which the store may delete the record (DynamoDB TTL).
    pub expires_at: Option<i64>,
}

impl Item {
    /// A new record (version 1) with a JSON body.
    pub fn new(key: Key, body: impl Into<String>) -> Self {
        Item { key, body: body.into(), version: 1, count: None, index: None, expires_at: None }
    }
    pub fn with_index(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.index = Some(IndexKey { pk: pk.into(), sk: sk.into() });
        self
    }
    pub fn with_count(mut self, count: i64) -> Self {
        self.count = Some(count);
        self
    }
    pub fn with_version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }
    pub fn with_expiry(mut self, unix_secs: i64) -> Self {
        self.expires_at = Some(unix_secs);
        self
    }
    /// Deserialises the body.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.body).map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", self.key.pk, self.key.sk)))
    }
}

/// Records as this process last decoded them, so that a read of an unchanged record skips
/// its decoding (a catalogue line or departure is kilobytes of JSON). A hit needs the exact
/// body read now, not a version: correct whatever a writer did with versions. Bounded; a full
/// cache starts over.
pub struct Decoded<T> {
    entries: std::sync::RwLock<std::collections::HashMap<Key, (String, std::sync::Arc<T>)>>,
    max_entries: usize,
}

impl<T: serde::de::DeserializeOwned> Decoded<T> {
    pub fn new(max_entries: usize) -> Self {
        Decoded { entries: Default::default(), max_entries }
    }

    /// `item` decoded: the value decoded earlier from the same body, or decoded now.
    pub fn decode(&self, item: &Item) -> Result<std::sync::Arc<T>, StoreError> {
        if let Some((body, value)) = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(&item.key) {
            if *body == item.body {
                return Ok(value.clone());
            }
        }
        let value = std::sync::Arc::new(item.decode::<T>()?);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max_entries {
            entries.clear();
        }
        entries.insert(item.key.clone(), (item.body.clone(), value.clone()));
        Ok(value)
    }
}

/// What must hold of a record for a write to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// No condition.
    Always,
    /// The record does not exist.
    Absent,
    /// The record exists.
    Exists,
    /// The record exists at exactly this version.
    Version(u64),
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Replace the whole record (its version becomes `item.version`).
    Put { item: Item, condition: Condition },
    /// Delete the record.
    Delete { key: Key, condition: Condition },
    /// Add `delta` to the record's counter; its version does not change. With `floor`, the
    /// record and its counter must exist and the counter must stay `>= floor` after the change
    /// (seats never go negative). Without `floor`, a missing record is created with
    /// `count = delta`, an empty body and version 0.
    Count { key: Key, delta: i64, floor: Option<i64> },
    /// Only check a condition (a record read but not changed by the decision).
    Check { key: Key, condition: Condition },
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { item, .. } => &item.key,
            Write::Delete { key, .. } | Write::Count { key, .. } | Write::Check { key, .. } => key,
        }
    }
}

/// Most writes one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The condition of write number `index` did not hold; nothing was written. `current` is
    /// that record as the store found it (`None`: absent), so that a caller whose conditional
    /// put lost to an existing record can answer from it without reading it again (DynamoDB:
    /// `ReturnValuesOnConditionCheckFailure = ALL_OLD`).
    #[error("condition of write {index} failed")]
    ConditionFailed { index: usize, current: Option<Box<Item>> },
    /// A concurrent transaction touched the same records; nothing was written; try again.
    #[error("transaction conflict")]
    Conflict,
    /// The transaction is malformed (two writes to one key, too many writes, empty).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// The store could not be reached or failed; the outcome is unknown only if it says so.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record could not be decoded.
    #[error("corrupt record {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The index of the write whose condition failed, if that is what happened.
    pub fn failed_write(&self) -> Option<usize> {
        match self {
            StoreError::ConditionFailed { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// The record store.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads one record (strongly consistent).
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Reads every record of a partition whose sort key starts with `sk_prefix` (empty = all),
    /// in sort-key order. One round trip for a small partition.
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError>;

    /// Reads records by their secondary index entry: index partition `pk`, index sort keys
    /// starting with `sk_prefix` (empty = all), in index sort-key order. Eventually consistent
    /// on DynamoDB.
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError>;

    /// Applies every write atomically, or none of them.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

/// Checks the shape rules every adapter enforces the same way.
pub fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Err(StoreError::Invalid("no writes".into()));
    }
    if writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!("{} writes, at most {MAX_TRANSACTION_WRITES}", writes.len())));
    }
    let mut keys: Vec<&Key> = writes.iter().map(Write::key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid("two writes to the same record".into()));
    }
    for w in writes {
        let k = w.key();
        if k.pk.is_empty() || k.sk.is_empty() {
            return Err(StoreError::Invalid("empty key".into()));
        }
        if let Write::Put { item, .. } = w {
            if let Some(ix) = &item.index {
                if ix.pk.is_empty() || ix.sk.is_empty() {
                    return Err(StoreError::Invalid("empty index key".into()));
                }
            }
        }
    }
    Ok(())
}

/// Counts calls, for tests that prove a request costs a bounded number of round trips.
#[derive(Debug, Default)]
pub struct CallCounter {
    pub gets: std::sync::atomic::AtomicUsize,
    pub queries: std::sync::atomic::AtomicUsize,
    pub index_queries: std::sync::atomic::AtomicUsize,
    pub transactions: std::sync::atomic::AtomicUsize,
}

impl CallCounter {
    /// Total round trips so far.
    pub fn total(&self) -> usize {
        use std::sync::atomic::Ordering::SeqCst;
        self.gets.load(SeqCst) + self.queries.load(SeqCst) + self.index_queries.load(SeqCst) + self.transactions.load(SeqCst)
    }
    pub fn reset(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.gets.store(0, SeqCst);
        self.queries.store(0, SeqCst);
        self.index_queries.store(0, SeqCst);
        self.transactions.store(0, SeqCst);
    }
}

/// A store wrapper that counts calls (and otherwise delegates).
pub struct Counting<S> {
    pub inner: S,
    pub calls: std::sync::Arc<CallCounter>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Self {
        Counting { inner, calls: Default::default() }
    }
}

#[async_trait]
impl<S: Store> Store for Counting<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.calls.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.calls.queries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.query(pk, sk_prefix).await
    }
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.calls.index_queries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.query_index(pk, sk_prefix).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.calls.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.transact(writes).await
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        (**self).get(key).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        (**self).query(pk, sk_prefix).await
    }
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        (**self).query_index(pk, sk_prefix).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        (**self).transact(writes).await
    }
}
