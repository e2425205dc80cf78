//! Record layout of collaboration cases in the single table, and the reads and writes
//! shared by the inbound service and the operator commands.
//!
//! | Record | pk | sk | gsi1 pk | gsi1 sk | Body |
//! |---|---|---|---|---|---|
//! | case | `RELCASE#<relation_case_id>` | `CASE` | `RELORDER#<order_id>` | `<created>#<relation_case_id>` | [`Case`] |
//! | listing | `RELCASE#<relation_case_id>` | `LIST` | `RELLIST#open` / `RELLIST#closed` | `<created>#<relation_case_id>` | [`CaseSummary`](super::model::CaseSummary) |
//! | history | `RELCASE#<relation_case_id>` | `H#<seq, 8 digits>` | – | – | [`HistoryEntry`] |
//! | Fliggy id | `RELFLIGGY#<case_id>` | `PTR` | – | – | `{"relation_case_id":…}` |
//! | replay | `RELREPLAY#<sha256 hex>` | `REPLAY` | – | – | [`ReplayRecord`], TTL 24 h |
//!
//! `<created>` is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so index order is time order).
//! The case, its listing and its history share one partition: `show` is one `get` plus one
//! `query`. The Fliggy-id record is written with `Absent` in the transaction that creates the
//! case (or learns its `case_id`), so one Fliggy case never gets two of ours. The listing
//! record is rewritten with every change of the case and moves between the `open` and
//! `closed` index partitions; listing never scans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Case, CaseError, HistoryEntry};
use crate::store::{Condition, Item, Key, Store, Write};

pub const LIST_OPEN: &str = "RELLIST#open";
pub const LIST_CLOSED: &str = "RELLIST#closed";

pub fn case_pk(relation_case_id: &str) -> String {
    format!("RELCASE#{relation_case_id}")
}
pub fn case_key(relation_case_id: &str) -> Key {
    Key::new(case_pk(relation_case_id), "CASE")
}
pub fn list_key(relation_case_id: &str) -> Key {
    Key::new(case_pk(relation_case_id), "LIST")
}
pub fn history_key(relation_case_id: &str, seq: u64) -> Key {
    Key::new(case_pk(relation_case_id), format!("H#{seq:08}"))
}
pub const HISTORY_PREFIX: &str = "H#";
pub fn fliggy_key(case_id: &str) -> Key {
    Key::new(format!("RELFLIGGY#{case_id}"), "PTR")
}
pub fn replay_record_key(hash: &str) -> Key {
    Key::new(format!("RELREPLAY#{hash}"), "REPLAY")
}
pub fn order_index_pk(order_id: &str) -> String {
    format!("RELORDER#{order_id}")
}
pub fn index_sk(case: &Case) -> String {
    format!("{}#{}", case.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), case.relation_case_id)
}

/// Body of the Fliggy-id record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FliggyPointer {
    pub relation_case_id: String,
}

/// A successful inbound message kept for replays (§1.7 as amended: successes only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub answer: Accepted,
    pub stored_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What an accepted inbound message answers: our case's id. (Records written before this
/// type also hold the rendered answer's other members; they are ignored.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub relation_case_id: String,
}

/// A case as read, with the version its update must be conditioned on.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub case: Case,
    pub version: u64,
}

pub async fn load_case(store: &dyn Store, relation_case_id: &str) -> Result<Option<Loaded>, CaseError> {
    match store.get(&case_key(relation_case_id)).await? {
        None => Ok(None),
        Some(item) => Ok(Some(Loaded { case: item.decode()?, version: item.version })),
    }
}

/// Our case number for a Fliggy `case_id`, if known.
pub async fn lookup_fliggy(store: &dyn Store, case_id: &str) -> Result<Option<String>, CaseError> {
    match store.get(&fliggy_key(case_id)).await? {
        None => Ok(None),
        Some(item) => Ok(Some(item.decode::<FliggyPointer>()?.relation_case_id)),
    }
}

/// Finds a case by our id or by Fliggy's.
pub async fn find_case(store: &dyn Store, id: &str) -> Result<Option<Loaded>, CaseError> {
    if let Some(found) = load_case(store, id).await? {
        return Ok(Some(found));
    }
    match lookup_fliggy(store, id).await? {
        Some(rcid) => load_case(store, &rcid).await,
        None => Ok(None),
    }
}

/// The writes that store `case` (read at `read_version`, `None` = new) with its new history
/// entries: the case (conditioned), its listing record, and each entry (`Absent`).
pub fn case_writes(case: &Case, read_version: Option<u64>, entries: &[HistoryEntry]) -> Vec<Write> {
    let (version, condition) = match read_version {
        None => (1, Condition::Absent),
        Some(v) => (v + 1, Condition::Version(v)),
    };
    let sk = index_sk(case);
    let case_item = Item::new(case_key(&case.relation_case_id), serde_json::to_string(case).expect("case serialises"))
        .with_version(version)
        .with_index(order_index_pk(&case.order_id), sk.clone());
    let list_pk = if case.state.is_closed() { LIST_CLOSED } else { LIST_OPEN };
    let list_item = Item::new(list_key(&case.relation_case_id), serde_json::to_string(&case.summary()).expect("summary serialises"))
        .with_version(version)
        .with_index(list_pk, sk);
    let mut writes = vec![Write::Put { item: case_item, condition }, Write::Put { item: list_item, condition: Condition::Always }];
    for e in entries {
        let item = Item::new(history_key(&case.relation_case_id, e.seq), serde_json::to_string(e).expect("entry serialises"));
        writes.push(Write::Put { item, condition: Condition::Absent });
    }
    writes
}

/// The write that binds a Fliggy `case_id` to our case (only if unbound).
pub fn pointer_write(case_id: &str, relation_case_id: &str) -> Write {
    let body = serde_json::to_string(&FliggyPointer { relation_case_id: relation_case_id.to_string() }).expect("pointer serialises");
    Write::Put { item: Item::new(fliggy_key(case_id), body), condition: Condition::Absent }
}

/// Our new case number: `R` + GMT+8 time (14 digits) + 6 random digits.
pub fn new_relation_case_id(now: DateTime<Utc>) -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!("R{}{n:06}", now.with_timezone(&crate::clock::gmt8()).format("%Y%m%d%H%M%S"))
}

/// A random UUID (version 4), for `unique_id`.
pub fn new_unique_id() -> String {
    use rand::Rng;
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = data_encoding::HEXLOWER.encode(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// How many times a decision is re-read and re-taken after losing a race.
pub const MAX_ATTEMPTS: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_record_written_with_the_whole_answer_still_reads() {
        // Written before the answer was rendered by wire: the rendered members came along.
        let earlier = r#"{"answer":{"relation_case_id":"RC1","success":true,"internal_error":false},"stored_at":"2026-12-01T00:00:00Z","expires_at":"2026-12-02T00:00:00Z"}"#;
        let r: ReplayRecord = serde_json::from_str(earlier).unwrap();
        assert_eq!(r.answer, Accepted { relation_case_id: "RC1".into() });
        let now = serde_json::to_string(&r).unwrap();
        assert!(now.contains(r#""answer":{"relation_case_id":"RC1"}"#), "{now}");
    }
}
