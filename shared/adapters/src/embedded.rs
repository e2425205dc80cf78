//! The embedded store of local mode: redb, a pure-Rust transactional key-value file.
//!
//! Each Busgate transaction has its conditions checked and all of its writes applied, or none:
//! the same guarantee as DynamoDB's `TransactWriteItems`. redb serialises writers, so there
//! are no conflicts to report.
//!
//! Group commit: concurrent transactions are applied one after another inside one redb write
//! transaction and made durable by its one commit (one fsync for the group, not one each).
//! None is answered before that commit returns, so nothing acknowledged can be lost; a
//! transaction whose condition fails is refused alone and leaves the others of its group be.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use busgate_domain::store::memory::{apply_writes, sort_by_index};
use busgate_domain::store::{IndexKey, Item, Key, Store, StoreError, Write};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Records by (pk, sk).
const RECORDS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("records");
/// Index entries: (index pk, index sk, pk, sk) → nothing.
const INDEX: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");

/// A record as stored: a marker byte, its fields as one line of JSON, then the body's bytes as
/// they are (reading a record back is a UTF-8 check, not a JSON scan of the body). Records
/// written before this framing are one JSON object whose `body` is a JSON string or raw JSON;
/// they still read.
const FRAMED: u8 = 0x01;

#[derive(Serialize)]
struct HeaderOut<'a> {
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a IndexKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct Header {
    version: u64,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    index: Option<IndexKey>,
    #[serde(default)]
    expires_at: Option<i64>,
}

/// The earlier format: the header's fields and the body in one JSON object.
#[derive(Deserialize)]
struct Unframed<'a> {
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(flatten)]
    header: Header,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode(item: &Item) -> Vec<u8> {
    let header = HeaderOut { version: item.version, count: item.count, index: item.index.as_ref(), expires_at: item.expires_at };
    let mut out = Vec::with_capacity(item.body.len() + 64);
    out.push(FRAMED);
    // Compact JSON has no raw newline: the first `\n` ends the header.
    serde_json::to_writer(&mut out, &header).expect("record header serialises");
    out.push(b'\n');
    out.extend_from_slice(item.body.as_bytes());
    out
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{}/{}: {e}", key.pk, key.sk));
    let (header, body) = match bytes.split_first() {
        Some((&FRAMED, rest)) => {
            let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| corrupt(&"record header not terminated"))?;
            let header: Header = serde_json::from_slice(&rest[..end]).map_err(|e| corrupt(&e))?;
            let body = std::str::from_utf8(&rest[end + 1..]).map_err(|e| corrupt(&e))?;
            (header, body.to_string())
        }
        _ => {
            let s: Unframed<'_> = serde_json::from_slice(bytes).map_err(|e| corrupt(&e))?;
            let raw = s.body.get();
            let body = if raw.starts_with('"') { serde_json::from_str::<String>(raw).map_err(|e| corrupt(&e))? } else { raw.to_string() };
            (s.header, body)
        }
    };
    Ok(Item { key, body, version: header.version, count: header.count, index: header.index, expires_at: header.expires_at })
}

/// A redb file holding Busgate's records.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    group: Arc<Mutex<Group>>,
}

/// Transactions waiting for the next group commit, and whether a committer is running.
#[derive(Default)]
struct Group {
    pending: Vec<Job>,
    running: bool,
}

struct Job {
    writes: Vec<Write>,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
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
        Ok(EmbeddedStore { db: Arc::new(db), group: Arc::default() })
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

    /// Commits groups of waiting transactions until none is left (one committer at a time).
    fn commit_loop(&self) {
        // Should it panic, the next transaction starts a committer again.
        struct Stop<'a>(&'a Mutex<Group>);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.lock().unwrap_or_else(|e| e.into_inner()).running = false;
                }
            }
        }
        let _stop = Stop(&self.group);
        loop {
            let jobs = std::mem::take(&mut self.group.lock().unwrap_or_else(|e| e.into_inner()).pending);
            if jobs.is_empty() {
                let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
                if g.pending.is_empty() {
                    g.running = false;
                    return;
                }
                continue;
            }
            match self.commit_group(&jobs) {
                Ok(results) => {
                    for (job, r) in jobs.into_iter().zip(results) {
                        let _ = job.done.send(r);
                    }
                }
                Err(e) => {
                    for job in jobs {
                        let _ = job.done.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Applies each job in turn (each sees the ones before it) in one write transaction, then
    /// commits it: the outcome of each job, or an error for all when nothing was committed.
    fn commit_group(&self, jobs: &[Job]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let txn = self.db.begin_write().map_err(unavailable)?;
        let mut results = Vec::with_capacity(jobs.len());
        {
            let mut records = txn.open_table(RECORDS).map_err(unavailable)?;
            let mut index = txn.open_table(INDEX).map_err(unavailable)?;
            for job in jobs {
                let changes = apply_writes(&job.writes, |k| match records.get((k.pk.as_str(), k.sk.as_str())).map_err(unavailable)? {
                    Some(v) => Ok(Some(decode(k.clone(), v.value())?)),
                    None => Ok(None),
                });
                match changes {
                    Err(e) => results.push(Err(e)),
                    Ok(changes) => {
                        apply_changes(&mut records, &mut index, changes)?;
                        results.push(Ok(()));
                    }
                }
            }
        }
        txn.commit().map_err(unavailable)?;
        Ok(results)
    }
}

/// Writes checked changes (and moves their index entries) inside a write transaction.
fn apply_changes(
    records: &mut redb::Table<(&str, &str), &[u8]>,
    index: &mut redb::Table<(&str, &str, &str, &str), ()>,
    changes: Vec<(Key, Option<Item>)>,
) -> Result<(), StoreError> {
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
    Ok(())
}

// Reads run on the caller's task: a redb read of one partition is a few microseconds from
// redb's page cache, cheaper than a hand-off to the blocking pool and back (two thread
// wake-ups per read were most of a local seat query's cost). Commits, which fsync, run on
// the blocking pool (see `commit_loop`).
#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.get_sync(key)
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.query_sync(pk, sk_prefix)
    }
    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.query_index_sync(pk, sk_prefix)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        busgate_domain::store::validate_transaction(&writes)?;
        let (done, answer) = tokio::sync::oneshot::channel();
        let start = {
            let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
            g.pending.push(Job { writes, done });
            !std::mem::replace(&mut g.running, true)
        };
        if start {
            let s = self.clone();
            tokio::task::spawn_blocking(move || s.commit_loop());
        }
        answer.await.map_err(|_| unavailable("the store's committer stopped"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(body: &str) -> Item {
        Item::new(Key::new("P", "S"), body).with_count(3).with_index("IX", "1")
    }

    #[test]
    fn every_body_reads_back_as_written_after_a_one_line_header() {
        for body in
            [r#"{"a":"引号\"","b":[1,2.50]}"#, "[1,2]", "", "\"a JSON string\"", " {\"lead\":1}", "{not json", "line\nbreaks\n", "{\"a\":1} trailing"]
        {
            let bytes = encode(&item(body));
            let back = decode(Key::new("P", "S"), &bytes).unwrap();
            assert_eq!(back, item(body), "{body:?}");
        }
        let stored = encode(&item(r#"{"a":1}"#));
        assert_eq!(String::from_utf8(stored).unwrap(), "\u{1}{\"version\":1,\"count\":3,\"index\":{\"pk\":\"IX\",\"sk\":\"1\"}}\n{\"a\":1}");
    }

    #[test]
    fn records_written_in_the_earlier_formats_still_read() {
        let string_body = br#"{"body":"{\"a\":\"x\"}","version":4,"count":2}"#;
        let back = decode(Key::new("P", "S"), string_body).unwrap();
        assert_eq!((back.body.as_str(), back.version, back.count), (r#"{"a":"x"}"#, 4, Some(2)));
        let raw_body = br#"{"body":{"a":"x"},"version":5,"expires_at":9}"#;
        let back = decode(Key::new("P", "S"), raw_body).unwrap();
        assert_eq!((back.body.as_str(), back.version, back.expires_at), (r#"{"a":"x"}"#, 5, Some(9)));
    }

    #[test]
    fn a_damaged_record_is_reported_corrupt_not_misread() {
        for bytes in [&b"\x01{\"version\":1}"[..], b"\x01{\"version\":1}\n\xff\xfe", b"\x01not json\n{}", b"{\"version\":1}"] {
            assert!(matches!(decode(Key::new("P", "S"), bytes), Err(StoreError::Corrupt(_))), "{bytes:?}");
        }
    }
}
