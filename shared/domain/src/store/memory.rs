//! An in-memory [`Store`] for unit tests of the domain. It runs the same conformance suite
//! as the DynamoDB and redb adapters, so a rule tested on it behaves the same in production.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{validate_transaction, Condition, Item, Key, Store, StoreError, Write};

#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<Key, Item>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether `condition` holds of `current` (shared by every embedded adapter).
pub fn holds(condition: Condition, current: Option<&Item>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::Absent => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Version(v) => current.is_some_and(|i| i.version == v),
    }
}

/// Checks every write against `read`, then returns the new state of each touched key
/// (`None` = deleted). Shared by the embedded adapters so that they agree exactly.
pub fn apply_writes(writes: &[Write], read: impl Fn(&Key) -> Result<Option<Item>, StoreError>) -> Result<Vec<(Key, Option<Item>)>, StoreError> {
    validate_transaction(writes)?;
    let mut out = Vec::with_capacity(writes.len());
    for (index, w) in writes.iter().enumerate() {
        let current = read(w.key())?;
        let failed = StoreError::ConditionFailed { index, current: current.clone().map(Box::new) };
        match w {
            Write::Put { item, condition } => {
                if !holds(*condition, current.as_ref()) {
                    return Err(failed);
                }
                out.push((item.key.clone(), Some(item.clone())));
            }
            Write::Delete { key, condition } => {
                if !holds(*condition, current.as_ref()) {
                    return Err(failed);
                }
                out.push((key.clone(), None));
            }
            Write::Check { key, condition } => {
                if !holds(*condition, current.as_ref()) {
                    return Err(failed);
                }
                let _ = key;
            }
            Write::Count { key, delta, floor } => {
                let next = match (current, floor) {
                    (None, Some(_)) => return Err(failed),
                    // Created by a counter alone: no body, version 0 (as DynamoDB's `ADD` leaves it).
                    (None, None) => Item { count: Some(*delta), version: 0, ..Item::new(key.clone(), "") },
                    (Some(mut item), floor) => {
                        // With a floor the counter must already exist (DynamoDB: `cnt >= :need`).
                        if floor.is_some() && item.count.is_none() {
                            return Err(failed);
                        }
                        let n = item.count.unwrap_or(0) + delta;
                        if floor.is_some_and(|f| n < f) {
                            return Err(failed);
                        }
                        item.count = Some(n);
                        item
                    }
                };
                out.push((key.clone(), Some(next)));
            }
        }
    }
    Ok(out)
}

/// Index order used by every embedded adapter: index sort key, then primary key.
pub fn index_matches(item: &Item, pk: &str, sk_prefix: &str) -> bool {
    item.index.as_ref().is_some_and(|ix| ix.pk == pk && ix.sk.starts_with(sk_prefix))
}

pub fn sort_by_index(items: &mut [Item]) {
    items.sort_by(|a, b| {
        let ka = a.index.as_ref().map(|i| i.sk.as_str());
        let kb = b.index.as_ref().map(|i| i.sk.as_str());
        ka.cmp(&kb).then_with(|| a.key.cmp(&b.key))
    });
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.records.lock().expect("store lock").get(key).cloned())
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let records = self.records.lock().expect("store lock");
        let start = Key::new(pk, sk_prefix);
        Ok(records.range(start..).take_while(|(k, _)| k.pk == pk && k.sk.starts_with(sk_prefix)).map(|(_, v)| v.clone()).collect())
    }

    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let records = self.records.lock().expect("store lock");
        let mut items: Vec<Item> = records.values().filter(|i| index_matches(i, pk, sk_prefix)).cloned().collect();
        sort_by_index(&mut items);
        Ok(items)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut records = self.records.lock().expect("store lock");
        let changes = apply_writes(&writes, |k| Ok(records.get(k).cloned()))?;
        for (key, item) in changes {
            match item {
                Some(item) => {
                    records.insert(key, item);
                }
                None => {
                    records.remove(&key);
                }
            }
        }
        Ok(())
    }
}
