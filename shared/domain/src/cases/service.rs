//! The inbound service: one Fliggy message in, one answer out (partners.md §1.6–§1.9 with the
//! Busgate decisions).

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::machine;
use super::model::{Actor, Case, CaseError, EntryKind, HistoryEntry, InboundMessage, RelationConfig, RelationType};
use super::records::{
    case_writes, load_case, lookup_fliggy, new_relation_case_id, pointer_write, replay_record_key, Accepted, Loaded, ReplayRecord, MAX_ATTEMPTS,
};
use crate::store::{Condition, Item, Store, StoreError, Write};

/// The replay key of §1.7: `sha256(case_id | relation_type | canonical JSON body)`, hex.
pub fn replay_key(msg: &InboundMessage) -> String {
    let mut h = Sha256::new();
    h.update(msg.case_id.as_bytes());
    h.update(b"|");
    h.update(msg.relation_type.as_str().as_bytes());
    h.update(b"|");
    h.update(msg.canonical.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// Handles one inbound collaboration message, as read from its raw `body`: answer a replay
/// inside the TTL as before (§1.7), resolve the case, apply the state machine (§1.6), and
/// commit the case, its history entry and the replay record in one transaction.
///
/// A refusal changes nothing and is not remembered (a refused message is evaluated again
/// when it comes again). A store failure is [`CaseError::Internal`], so that Fliggy retries.
pub async fn receive(store: &dyn Store, msg: &InboundMessage, body: &[u8], now: DateTime<Utc>, cfg: &RelationConfig) -> Result<Accepted, CaseError> {
    let key = replay_key(msg);
    for _ in 0..MAX_ATTEMPTS {
        match attempt(store, msg, body, &key, now, cfg).await {
            Ok(answer) => return Ok(answer),
            Err(Failure::Retry) => continue,
            Err(Failure::Refused(e)) => {
                if e.is_internal() {
                    tracing::error!(case_id = %msg.case_id, error = %e, "relation message failed");
                } else {
                    tracing::warn!(case_id = %msg.case_id, relation_type = %msg.relation_type, error = %e, "relation message refused");
                }
                return Err(e);
            }
        }
    }
    tracing::error!(case_id = %msg.case_id, "relation message: contention did not settle");
    Err(CaseError::Internal("contention, try again".into()))
}

enum Failure {
    /// Lost a race: read again and decide again.
    Retry,
    Refused(CaseError),
}

impl From<CaseError> for Failure {
    fn from(e: CaseError) -> Self {
        Failure::Refused(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed { .. } | StoreError::Conflict => Failure::Retry,
            other => Failure::Refused(other.into()),
        }
    }
}

async fn attempt(
    store: &dyn Store,
    msg: &InboundMessage,
    body: &[u8],
    key: &str,
    now: DateTime<Utc>,
    cfg: &RelationConfig,
) -> Result<Accepted, Failure> {
    // 1. Replay inside the TTL: the stored answer, nothing changes.
    let replay_version = match store.get(&replay_record_key(key)).await? {
        Some(item) => {
            let r: ReplayRecord = item.decode().map_err(CaseError::from)?;
            if r.expires_at > now {
                tracing::info!(case_id = %msg.case_id, relation_type = %msg.relation_type, "relation message replayed");
                return Ok(r.answer);
            }
            Some(item.version)
        }
        None => None,
    };

    // 2. The case, by Fliggy's id and/or ours.
    let resolved = resolve(store, msg).await?;

    // 3. Decide.
    let mut writes: Vec<Write> = Vec::new();
    let (case, read_version, state_before) = match resolved {
        None => {
            let Some((owner, state)) = machine::opening(Actor::Fliggy, msg.relation_type) else {
                return Err(CaseError::CaseNotFound(format!("case {}", msg.case_id)).into());
            };
            let rcid = new_relation_case_id(now);
            writes.push(pointer_write(&msg.case_id, &rcid));
            let case = Case {
                category_id: msg.category_id.clone(),
                attributes: msg.attributes.clone(),
                ..Case::opened(rcid, Some(msg.case_id.clone()), msg.order_id.clone(), owner, state, msg.operator.clone(), now)
            };
            (case, None, state)
        }
        Some(Resolved { loaded: Loaded { mut case, version }, learn_case_id }) => {
            let label = format!("case {}", msg.case_id);
            let before = case.state;
            let next = machine::transition(case.owner, case.state, Actor::Fliggy, msg.relation_type, &label)?;
            if case.order_id != msg.order_id {
                return Err(CaseError::Conflict(format!("{label} already bound to order {}", case.order_id)).into());
            }
            if learn_case_id {
                writes.push(pointer_write(&msg.case_id, &case.relation_case_id));
                case.case_id = Some(msg.case_id.clone());
            }
            case.state = next;
            case.updated_at = now;
            if msg.relation_type == RelationType::UrgeCase {
                case.urges_received += 1;
                case.last_urged_at = Some(now);
            }
            (case, Some(version), before)
        }
    };
    let mut case = case;
    case.history_len += 1;
    let entry = HistoryEntry {
        seq: case.history_len,
        at: now,
        kind: EntryKind::Inbound,
        relation_type: msg.relation_type,
        operator: msg.operator.clone(),
        state_before,
        state_after: case.state,
        category_id: msg.category_id.clone(),
        attributes: msg.attributes.clone(),
        note: None,
        unique_id: None,
        callback_id: None,
        raw: Some(String::from_utf8_lossy(body).into_owned()),
        unknown_fields: msg.unknown_fields.clone(),
    };
    let answer = Accepted { relation_case_id: case.relation_case_id.clone() };
    let record = ReplayRecord { answer: answer.clone(), stored_at: now, expires_at: now + Duration::seconds(cfg.replay_ttl_secs) };
    let replay_item = Item::new(replay_record_key(key), serde_json::to_string(&record).expect("replay serialises"))
        .with_version(replay_version.map_or(1, |v| v + 1))
        .with_expiry(record.expires_at.timestamp());
    writes.extend(case_writes(&case, read_version, &[entry]));
    writes.push(Write::Put { item: replay_item, condition: replay_version.map_or(Condition::Absent, Condition::Version) });

    store.transact(writes).await?;
    tracing::info!(
        case_id = %msg.case_id,
        relation_case_id = %case.relation_case_id,
        relation_type = %msg.relation_type,
        state = %case.state,
        "relation message accepted"
    );
    Ok(answer)
}

struct Resolved {
    loaded: Loaded,
    /// The case had no Fliggy `case_id` yet (supplier-owned, our start's answer not yet
    /// recorded): bind it now.
    learn_case_id: bool,
}

/// The case a message is about: by Fliggy's `case_id`, or by our `relation_case_id`. Both
/// given and naming different cases is a conflict.
async fn resolve(store: &dyn Store, msg: &InboundMessage) -> Result<Option<Resolved>, Failure> {
    let by_case = lookup_fliggy(store, &msg.case_id).await?;
    match (by_case, &msg.relation_case_id) {
        (Some(ours), Some(given)) if &ours != given => {
            Err(CaseError::Conflict(format!("case {} belongs to relation case {ours}, not {given}", msg.case_id)).into())
        }
        (Some(ours), _) => match load_case(store, &ours).await? {
            Some(loaded) => Ok(Some(Resolved { loaded, learn_case_id: false })),
            None => Err(CaseError::Internal(format!("case {} points to missing relation case {ours}", msg.case_id)).into()),
        },
        (None, Some(given)) => match load_case(store, given).await? {
            None => Err(CaseError::CaseNotFound(format!("relation case {given}")).into()),
            Some(loaded) => match &loaded.case.case_id {
                Some(other) => Err(CaseError::Conflict(format!("relation case {given} is bound to case {other}")).into()),
                None => Ok(Some(Resolved { loaded, learn_case_id: true })),
            },
        },
        (None, None) => Ok(None),
    }
}
