//! Notices over the [`Store`]: intake (stored once per `apply.id`, before the acknowledgement),
//! the operator's listing and view, and the decision that queues the call back to Fenbeitong.
//!
//! Records (single table):
//!
//! | pk | sk | body | index (gsi1) |
//! |---|---|---|---|
//! | `FBT#<apply.id>` | `RAW` | the body exactly as received (immutable) | — |
//! | `FBT#<apply.id>` | `NOTICE` | [`NoticeRecord`] (status, decision, parsed notice) | `FBT#NOTICES` / `<pending\|decided>#<received_at>#<apply.id>` |
//!
//! Both are written in one transaction with `Absent` conditions, so a notice is stored exactly
//! once; a decision rewrites `NOTICE` at its read version together with the outbox callback.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::error::{IntakeOutcome, NoticeError};
use super::model::Notice;
use crate::outbox::{new_callback_id, Callback, Destination};
use crate::store::{Condition, Item, Key, Store, StoreError, Write};

/// Index partition listing every notice.
pub const NOTICES_INDEX_PK: &str = "FBT#NOTICES";
/// Longest operator name of a decision.
pub const MAX_OPERATOR_CHARS: usize = 64;
/// Longest decision comment.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Partition of one notice's records.
pub fn notice_pk(apply_id: &str) -> String {
    format!("FBT#{apply_id}")
}

/// The notice record (status, decision, parsed notice).
pub fn notice_key(apply_id: &str) -> Key {
    Key::new(notice_pk(apply_id), "NOTICE")
}

/// The raw body as received.
pub fn raw_key(apply_id: &str) -> Key {
    Key::new(notice_pk(apply_id), "RAW")
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Waiting for an operator's decision (the approval task).
    Pending,
    Approved,
    Rejected,
}

/// An operator's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub operator: String,
    pub decided_at: DateTime<Utc>,
    /// The outbox callback that carries it to Fenbeitong.
    pub callback_id: String,
}

/// The stored notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub apply_id: String,
    /// The company whose token received it.
    pub company: String,
    pub received_at: DateTime<Utc>,
    /// [`Notice::digest`] of the stored body.
    pub digest: String,
    pub status: NoticeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub notice: Notice,
}

impl NoticeRecord {
    fn index_sk(&self) -> String {
        let state = if self.status == NoticeStatus::Pending { "pending" } else { "decided" };
        format!("{state}#{}#{}", self.received_at.to_rfc3339_opts(SecondsFormat::Millis, true), self.apply_id)
    }

    fn to_item(&self, version: u64) -> Item {
        Item::new(notice_key(&self.apply_id), serde_json::to_string(self).expect("notice record serialises"))
            .with_version(version)
            .with_index(NOTICES_INDEX_PK, self.index_sk())
    }
}

fn internal(e: StoreError) -> NoticeError {
    NoticeError::Internal(e.to_string())
}

/// Stores a notice delivered to `company`'s URL, as read by the intake, with its raw body,
/// before the caller acknowledges it. First delivery: `Accepted` (a pending approval task).
/// Same canonical body for the same company again: `Duplicate`, nothing written. Same
/// `apply.id` with other content (or another company): `Conflict`. Store failure:
/// `Internal`, nothing stored, so a redelivery is processed afresh.
pub async fn intake<S: Store + ?Sized>(
    store: &S,
    company: &str,
    notice: Notice,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<IntakeOutcome, NoticeError> {
    let apply_id = notice.apply.id.clone();
    let raw = String::from_utf8(body.to_vec()).map_err(|_| NoticeError::Malformed("invalid UTF-8".into()))?;
    if !notice.warnings.is_empty() || !notice.unknown_fields.is_empty() {
        tracing::warn!(apply_id = %apply_id, company, warnings = ?notice.warnings, unknown_fields = ?notice.unknown_fields, "fenbeitong notice accepted with remarks");
    }
    let record = NoticeRecord {
        apply_id: apply_id.clone(),
        company: company.to_string(),
        received_at: now,
        digest: notice.digest.clone(),
        status: NoticeStatus::Pending,
        decision: None,
        notice,
    };
    let writes = vec![
        Write::Put { item: Item::new(raw_key(&apply_id), raw), condition: Condition::Absent },
        Write::Put { item: record.to_item(1), condition: Condition::Absent },
    ];
    match store.transact(writes).await {
        Ok(()) => {
            tracing::info!(apply_id = %apply_id, company, "fenbeitong notice stored");
            Ok(IntakeOutcome::Accepted { apply_id })
        }
        Err(StoreError::ConditionFailed { .. }) => {
            let existing = store
                .get(&notice_key(&apply_id))
                .await
                .map_err(internal)?
                .ok_or_else(|| NoticeError::Internal(format!("notice {apply_id}: raw body without notice record")))?;
            let existing: NoticeRecord = existing.decode().map_err(internal)?;
            if existing.digest == record.digest && existing.company == record.company {
                tracing::info!(apply_id = %apply_id, company, "fenbeitong notice duplicate ignored");
                Ok(IntakeOutcome::Duplicate { apply_id })
            } else {
                tracing::warn!(apply_id = %apply_id, company, stored_company = %existing.company, "fenbeitong notice conflicts with the stored one");
                Err(NoticeError::Conflict { apply_id })
            }
        }
        Err(e) => Err(internal(e)),
    }
}

/// Notices, oldest first: only those waiting for a decision, or all.
pub async fn list<S: Store + ?Sized>(store: &S, pending_only: bool) -> Result<Vec<NoticeRecord>, StoreError> {
    let prefix = if pending_only { "pending#" } else { "" };
    let mut out = store.query_index(NOTICES_INDEX_PK, prefix).await?.iter().map(Item::decode::<NoticeRecord>).collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| (a.received_at, &a.apply_id).cmp(&(b.received_at, &b.apply_id)));
    Ok(out)
}

/// A Busgate order a notice concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLink {
    /// Busgate's order id.
    pub order_id: String,
    /// How it was found, for the operator (`fenbeitong order 456677687688779`,
    /// `passenger 测试同学 on 2022-07-13`).
    pub matched_by: String,
}

/// The hook through which [`show`] links a notice to a Busgate order (orders live elsewhere).
/// An implementation should try, in order: the Fenbeitong order ids of the original orders
/// ([`Notice::original_order_ids`]) as agent/Fliggy order ids, then the traveller
/// (`notice.user.name`/`phone`) with the original order's `start_date`; and return `None` when
/// nothing matches or more than one order does.
#[async_trait]
pub trait OrderLookup: Send + Sync {
    async fn find_order(&self, company: &str, notice: &Notice) -> Result<Option<OrderLink>, StoreError>;
}

/// No order lookup: [`show`] never links an order.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOrderLookup;

#[async_trait]
impl OrderLookup for NoOrderLookup {
    async fn find_order(&self, _: &str, _: &Notice) -> Result<Option<OrderLink>, StoreError> {
        Ok(None)
    }
}

/// An [`OrderLookup`] from a synchronous closure (tests, simple in-memory indexes).
pub struct FnOrderLookup<F>(pub F);

#[async_trait]
impl<F> OrderLookup for FnOrderLookup<F>
where
    F: Fn(&str, &Notice) -> Option<OrderLink> + Send + Sync,
{
    async fn find_order(&self, company: &str, notice: &Notice) -> Result<Option<OrderLink>, StoreError> {
        Ok((self.0)(company, notice))
    }
}

/// Everything the operator sees about one notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeView {
    pub record: NoticeRecord,
    /// The body exactly as received.
    pub raw_body: String,
    /// The Busgate order it concerns, if the lookup found one.
    pub order: Option<OrderLink>,
}

/// One notice by `apply.id` (one store round trip plus the lookup), or `None`.
pub async fn show<S: Store + ?Sized>(store: &S, id: &str, orders: &dyn OrderLookup) -> Result<Option<NoticeView>, StoreError> {
    let items = store.query(&notice_pk(id), "").await?;
    let mut record = None;
    let mut raw_body = None;
    for item in &items {
        match item.key.sk.as_str() {
            "NOTICE" => record = Some(item.decode::<NoticeRecord>()?),
            "RAW" => raw_body = Some(item.body.clone()),
            _ => {}
        }
    }
    let Some(record) = record else { return Ok(None) };
    let raw_body = raw_body.ok_or_else(|| StoreError::Corrupt(format!("{}/RAW missing", notice_pk(id))))?;
    let order = orders.find_order(&record.company, &record.notice).await?;
    Ok(Some(NoticeView { record, raw_body, order }))
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("notice {0} not found")]
    NotFound(String),
    #[error("notice {apply_id} was already {} by {operator} at {decided_at}", if *.approved { "approved" } else { "rejected" })]
    AlreadyDecided { apply_id: String, approved: bool, operator: String, decided_at: DateTime<Utc> },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records the operator's decision on notice `id` and, in the same transaction, an outbox
/// callback `Destination::FenbeitongDecision` carrying it. A rejection needs a comment. A notice is decided
/// once: a second decision (or a lost race) gets [`DecideError::AlreadyDecided`].
pub async fn decide<S: Store + ?Sized>(
    store: &S,
    id: &str,
    approve: bool,
    comment: &str,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<Decision, DecideError> {
    let operator = operator.trim();
    if operator.is_empty() || operator.chars().count() > MAX_OPERATOR_CHARS {
        return Err(DecideError::Invalid(format!("operator: 1 to {MAX_OPERATOR_CHARS} characters required")));
    }
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(DecideError::Invalid(format!("comment: at most {MAX_COMMENT_CHARS} characters")));
    }
    if !approve && comment.is_empty() {
        return Err(DecideError::Invalid("comment: required to reject".into()));
    }
    // Two tries: a concurrent change between read and write is re-read once.
    for _ in 0..2 {
        let item = store.get(&notice_key(id)).await?.ok_or_else(|| DecideError::NotFound(id.to_string()))?;
        let mut record: NoticeRecord = item.decode()?;
        if let Some(d) = &record.decision {
            return Err(DecideError::AlreadyDecided {
                apply_id: id.to_string(),
                approved: d.approve,
                operator: d.operator.clone(),
                decided_at: d.decided_at,
            });
        }
        let callback_id = new_callback_id(now);
        let callback = Callback::new(
            callback_id.clone(),
            Destination::FenbeitongDecision {
                company: record.company.clone(),
                apply_id: record.apply_id.clone(),
                approve,
                comment: comment.to_string(),
            },
            format!("fenbeitong apply {id} {}", if approve { "approve" } else { "reject" }),
            now,
        );
        let decision = Decision {
            approve,
            comment: (!comment.is_empty()).then(|| comment.to_string()),
            operator: operator.to_string(),
            decided_at: now,
            callback_id,
        };
        record.status = if approve { NoticeStatus::Approved } else { NoticeStatus::Rejected };
        record.decision = Some(decision.clone());
        let writes = vec![Write::Put { item: record.to_item(item.version + 1), condition: Condition::Version(item.version) }, callback.insert()];
        match store.transact(writes).await {
            Ok(()) => {
                tracing::info!(apply_id = %id, approve, operator, callback_id = %decision.callback_id, "fenbeitong notice decided");
                return Ok(decision);
            }
            Err(StoreError::ConditionFailed { index: 0, .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
