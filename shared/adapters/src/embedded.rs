//! The embedded store of local mode: redb, a pure-Rust transactional key-value file.
//!
//! One redb write transaction checks every condition of a Busgate transaction and applies
//! all of its writes, or none: the same guarantee as DynamoDB's `TransactWriteItems`. redb
//! serialises writers, so there are no conflicts to report.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use busgate_domain::store::memory::{apply_writes, sort_by_index};
use busgate_domain::store::{IndexKey, Item, Key, Store, StoreError, Write};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Records by (pk, sk).
const RECORDS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("records");
/// Index entries: (index pk, index sk, pk, sk) → nothing.
const INDEX: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");

#[derive(Serialize, Deserialize)]
struct Stored {
    body: String,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index: Option<IndexKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&Stored {
        body: item.body.clone(),
        version: item.version,
        count: item.count,
        index: item.index.clone(),
        expires_at: item.expires_at,
    })
    .expect("record serialises")
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let s: Stored = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", key.pk, key.sk)))?;
    Ok(Item { key, body: s.body, version: s.version, count: s.count, index: s.index, expires_at: s.expires_at })
}

/// A redb file holding Busgate's records.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir` (file `busgate.redb`).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let db = Database::create(dir.join("busgate.redb")).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(RECORDS).map_err(unavailable)?;
            txn.open_table(INDEX).map_err(unavailable)?;
        }
        txn.commit().map_err(unavailable)?;
        Ok(EmbeddedStore { db: Arc::new(db) })
    }

    fn get_sync(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(RECORDS).map_err(unavailable)?;
        match table.get((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)? {
            Some(v) => Ok(Some(decode(key.clone(), v.value())?)),
            None => Ok(None),
        }
    }

    fn query_sync(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(RECORDS).map_err(unavailable)?;
        let mut out = Vec::new();
        for entry in table.range((pk, sk_prefix)..).map_err(unavailable)? {
            let (k, v) = entry.map_err(unavailable)?;
            let (kpk, ksk) = k.value();
            if kpk != pk || !ksk.starts_with(sk_prefix) {
                break;
            }
            out.push(decode(Key::new(kpk, ksk), v.value())?);
        }
        Ok(out)
    }

    fn query_index_sync(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let index = txn.open_table(INDEX).map_err(unavailable)?;
        let records = txn.open_table(RECORDS).map_err(unavailable)?;
        let mut out = Vec::new();
        for entry in index.range((pk, sk_prefix, "", "")..).map_err(unavailable)? {
            let (k, _) = entry.map_err(unavailable)?;
            let (ipk, isk, rpk, rsk) = k.value();
            if ipk != pk || !isk.starts_with(sk_prefix) {
                break;
            }
            if let Some(v) = records.get((rpk, rsk)).map_err(unavailable)? {
                out.push(decode(Key::new(rpk, rsk), v.value())?);
            }
        }
        sort_by_index(&mut out);
        Ok(out)
    }

    /// Increments and reads back inside one write transaction (writers are serialised).
    fn sequence_sync(&self, key: &Key) -> Result<i64, StoreError> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        let n = {
            let mut records = txn.open_table(RECORDS).map_err(unavailable)?;
            let k = (key.pk.as_str(), key.sk.as_str());
            let current = match records.get(k).map_err(unavailable)? {
                Some(v) => decode(key.clone(), v.value())?,
                None => Item { count: Some(0), version: 0, ..Item::new(key.clone(), "") },
            };
            let n = current.count.unwrap_or(0) + 1;
            records.insert(k, encode(&Item { count: Some(n), ..current }).as_slice()).map_err(unavailable)?;
            n
        };
        txn.commit().map_err(unavailable)?;
        Ok(n)
    }

    fn transact_sync(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        {
            let mut records = txn.open_table(RECORDS).map_err(unavailable)?;
            let mut index = txn.open_table(INDEX).map_err(unavailable)?;
            let changes = apply_writes(&writes, |k| match records.get((k.pk.as_str(), k.sk.as_str())).map_err(unavailable)? {
                Some(v) => Ok(Some(decode(k.clone(), v.value())?)),
                None => Ok(None),
            })?;
            for (key, next) in changes {
                let k = (key.pk.as_str(), key.sk.as_str());
                let previous = match records.get(k).map_err(unavailable)? {
                    Some(v) => Some(decode(key.clone(), v.value())?),
                    None => None,
                };
                if let Some(ix) = previous.and_then(|p| p.index) {
                    index.remove((ix.pk.as_str(), ix.sk.as_str(), k.0, k.1)).map_err(unavailable)?;
                }
                match next {
                    Some(item) => {
                        records.insert(k, encode(&item).as_slice()).map_err(unavailable)?;
                        if let Some(ix) = &item.index {
                            index.insert((ix.pk.as_str(), ix.sk.as_str(), k.0, k.1), ()).map_err(unavailable)?;
                        }
                    }
                    None => {
                        records.remove(k).map_err(unavailable)?;
                    }
                }
            }
        }
        txn.commit().map_err(unavailable)
    }
}

/// Runs blocking redb work off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(unavailable)?
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let (s, key) = (self.clone(), key.clone());
        blocking(move || s.get_sync(&key)).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (s, pk, p) = (self.clone(), pk.to_string(), sk_prefix.to_string());
        blocking(move || s.query_sync(&pk, &p)).await
    }
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (s, pk, p) = (self.clone(), pk.to_string(), sk_prefix.to_string());
        blocking(move || s.query_index_sync(&pk, &p)).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let s = self.clone();
        blocking(move || s.transact_sync(writes)).await
    }
    async fn next_sequence(&self, key: &Key) -> Result<i64, StoreError> {
        let (s, key) = (self.clone(), key.clone());
        blocking(move || s.sequence_sync(&key)).await
    }
}
