//! Operator commands (`busgate cases …`) and the recording of outbound outcomes.
//!
//! An outbound action is validated by the state machine when the operator gives it; if
//! legal, the case records it as a pending [`Action`] with a history entry, and the outbox
//! callback is written in the same transaction. The state moves only when Fliggy accepts the
//! message ([`record_outcome`]): a refused `result` leaves the case as it was (F16), and a
//! retried one moves it once (F17). At most one state-changing action is in flight per case.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::machine;
use super::model::{
    changes_state, is_order_id, Action, ActionStatus, Actor, Case, CaseDetail, CaseError, CaseState, CaseSummary, EntryKind, HistoryEntry,
    RelationType, MAX_ATTRIBUTES_BYTES, MAX_ID_CHARS,
};
use super::outbound::{parse_slafz, OutboundOutcome, RelationRequest};
use super::records::{
    case_pk, case_writes, find_case, load_case, lookup_fliggy, new_relation_case_id, new_unique_id, order_index_pk, pointer_write, HISTORY_PREFIX,
    LIST_CLOSED, LIST_OPEN, MAX_ATTEMPTS,
};
use crate::outbox::new_callback_id;
use crate::store::{Store, StoreError};

/// What an operator may send on an existing case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendKind {
    /// `result`: our result on a Fliggy-owned case (again = supplement).
    Result,
    /// `sendBack`: refuse a Fliggy-owned case.
    SendBack,
    /// `reply`: progress note.
    Reply,
    /// `urgeCase` on a case we opened.
    Urge,
    /// `endRelation` on a case we opened (a draft never accepted by Fliggy closes locally).
    End,
    /// `startRelation` again on a case of ours that Fliggy sent back (resubmission).
    Start,
}

impl SendKind {
    pub fn relation_type(self) -> RelationType {
        match self {
            SendKind::Result => RelationType::Result,
            SendKind::SendBack => RelationType::SendBack,
            SendKind::Reply => RelationType::Reply,
            SendKind::Urge => RelationType::UrgeCase,
            SendKind::End => RelationType::EndRelation,
            SendKind::Start => RelationType::StartRelation,
        }
    }
}

impl FromStr for SendKind {
    type Err = CaseError;
    /// `result`, `sendBack`, `reply`, `urge`, `end`, `start`; the wire names (`urgeCase`,
    /// `endRelation`, `startRelation`) and any letter case are accepted too.
    fn from_str(s: &str) -> Result<Self, CaseError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "result" => SendKind::Result,
            "sendback" | "send-back" | "send_back" => SendKind::SendBack,
            "reply" => SendKind::Reply,
            "urge" | "urgecase" => SendKind::Urge,
            "end" | "endrelation" => SendKind::End,
            "start" | "startrelation" => SendKind::Start,
            _ => return Err(CaseError::InvalidEnum(format!("kind \"{s}\" (allowed: result, sendBack, reply, urge, end, start)"))),
        })
    }
}

/// What an operator command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub relation_case_id: String,
    pub relation_type: RelationType,
    /// The state now (the message's own transition happens when Fliggy accepts it).
    pub state: CaseState,
    /// `None` when nothing was sent (a draft closed locally).
    pub unique_id: Option<String>,
    pub callback_id: Option<String>,
}

/// Cases, open only or all, optionally of one Fliggy order (index queries, no scan).
///
/// Order: open before closed; then cases Fliggy urged; then the nearest SLA deadline
/// (`slafz`) first; then the oldest.
pub async fn list(store: &dyn Store, open_only: bool, order_id: Option<&str>) -> Result<Vec<CaseSummary>, CaseError> {
    let mut out: Vec<CaseSummary> = Vec::new();
    match order_id {
        Some(order) => {
            for item in store.query_index(&order_index_pk(order.trim()), "").await? {
                let case: Case = item.decode()?;
                if !open_only || !case.state.is_closed() {
                    out.push(case.summary());
                }
            }
        }
        None => {
            let mut parts = vec![LIST_OPEN];
            if !open_only {
                parts.push(LIST_CLOSED);
            }
            for pk in parts {
                for item in store.query_index(pk, "").await? {
                    out.push(item.decode()?);
                }
            }
        }
    }
    sort_for_operator(&mut out);
    Ok(out)
}

/// The listing order of [`list`].
pub fn sort_for_operator(cases: &mut [CaseSummary]) {
    cases.sort_by(|a, b| {
        let key = |c: &CaseSummary| (c.state.is_closed(), c.urges_received == 0, c.sla_deadline.is_none(), c.sla_deadline, c.created_at);
        key(a).cmp(&key(b)).then_with(|| a.relation_case_id.cmp(&b.relation_case_id))
    });
}

/// One case with its whole history; `id` is our `relation_case_id` or Fliggy's `case_id`.
pub async fn show(store: &dyn Store, id: &str) -> Result<CaseDetail, CaseError> {
    let id = id.trim();
    let Some(found) = find_case(store, id).await? else {
        return Err(CaseError::CaseNotFound(format!("case {id}")));
    };
    let mut history = Vec::new();
    for item in store.query(&case_pk(&found.case.relation_case_id), HISTORY_PREFIX).await? {
        history.push(item.decode::<HistoryEntry>()?);
    }
    Ok(CaseDetail { case: found.case, history })
}

fn check_operator(operator: &str) -> Result<String, CaseError> {
    let op = operator.trim();
    if op.is_empty() {
        return Err(CaseError::MissingField("operator".into()));
    }
    if op.chars().count() > MAX_ID_CHARS {
        return Err(CaseError::InvalidFormat(format!("operator longer than {MAX_ID_CHARS} characters")));
    }
    Ok(op.to_string())
}

fn check_note(note: &str) -> Result<String, CaseError> {
    let n = note.trim();
    // The attributes JSON escapes the note; keep its raw length well inside the limit.
    if n.len() > MAX_ATTRIBUTES_BYTES / 2 {
        return Err(CaseError::InvalidFormat(format!("note longer than {} bytes", MAX_ATTRIBUTES_BYTES / 2)));
    }
    Ok(n.to_string())
}

fn retry_or(e: StoreError) -> Option<CaseError> {
    match e {
        StoreError::ConditionFailed { .. } | StoreError::Conflict => None,
        other => Some(other.into()),
    }
}

/// Opens a case of ours on a Fliggy order: the case is created in DRAFT and our
/// `startRelation` (no `case_id`) goes to the outbox; it becomes OPEN when Fliggy accepts it.
pub async fn open(store: &dyn Store, order_id: &str, note: &str, operator: &str, now: DateTime<Utc>) -> Result<SendReceipt, CaseError> {
    let order_id = order_id.trim();
    if order_id.is_empty() {
        return Err(CaseError::MissingField("order_id".into()));
    }
    if !is_order_id(order_id) {
        return Err(CaseError::InvalidFormat(format!("order_id must be 1 to 32 digits (got \"{order_id}\")")));
    }
    let operator = check_operator(operator)?;
    let note = check_note(note)?;
    let (owner, state) = machine::opening(Actor::Supplier, RelationType::StartRelation).expect("we open with startRelation");
    for _ in 0..MAX_ATTEMPTS {
        let rcid = new_relation_case_id(now);
        let mut case = Case::opened(rcid.clone(), None, order_id.to_string(), owner, state, operator.clone(), now);
        let (writes, receipt) = outbound_writes(&mut case, None, RelationType::StartRelation, &note, &operator, state, now);
        match store.transact(writes).await {
            Ok(()) => return Ok(receipt),
            // A clash of fresh ids: draw again.
            Err(e) => {
                if let Some(err) = retry_or(e) {
                    return Err(err);
                }
            }
        }
    }
    Err(CaseError::Internal("could not allocate a case number".into()))
}

/// Sends `kind` on case `id` (our `relation_case_id` or Fliggy's `case_id`). The state
/// machine decides first; an illegal action is refused with its code and nothing is written.
pub async fn send(store: &dyn Store, id: &str, kind: SendKind, note: &str, operator: &str, now: DateTime<Utc>) -> Result<SendReceipt, CaseError> {
    let operator = check_operator(operator)?;
    let note = check_note(note)?;
    let id = id.trim();
    let t = kind.relation_type();
    for _ in 0..MAX_ATTEMPTS {
        let Some(found) = find_case(store, id).await? else {
            return Err(CaseError::CaseNotFound(format!("case {id}")));
        };
        let mut case = found.case;
        let label = case.label();
        let before = case.state;
        // Fliggy has never accepted this draft: ending it is local, nothing is sent.
        let local_close = t == RelationType::EndRelation
            && case.state == CaseState::Draft
            && !case.actions.iter().any(|a| a.relation_type == RelationType::StartRelation && a.status != ActionStatus::Failed);
        // One state-changing action in flight at a time (direction and closed errors first).
        if let Some(p) = case.pending_transition() {
            if changes_state(t) {
                machine::transition(case.owner, case.state, Actor::Supplier, t, &label)?;
                return Err(CaseError::InvalidTransition(format!(
                    "{} (unique_id {}) is still in flight on {label}; wait for its outcome",
                    p.relation_type, p.unique_id
                )));
            }
        }
        machine::transition(case.owner, case.state, Actor::Supplier, t, &label)?;
        let (writes, receipt) = if local_close {
            case.state = CaseState::Closed;
            case.updated_at = now;
            case.history_len += 1;
            let entry = HistoryEntry {
                seq: case.history_len,
                at: now,
                kind: EntryKind::Local,
                relation_type: t,
                operator: operator.clone(),
                state_before: before,
                state_after: CaseState::Closed,
                category_id: None,
                attributes: None,
                note: Some(if note.is_empty() { "draft closed locally; nothing sent".into() } else { note.clone() }),
                unique_id: None,
                callback_id: None,
                raw: None,
                unknown_fields: Vec::new(),
            };
            let receipt = SendReceipt {
                relation_case_id: case.relation_case_id.clone(),
                relation_type: t,
                state: CaseState::Closed,
                unique_id: None,
                callback_id: None,
            };
            (case_writes(&case, Some(found.version), &[entry]), receipt)
        } else {
            outbound_writes(&mut case, Some(found.version), t, &note, &operator, before, now)
        };
        match store.transact(writes).await {
            Ok(()) => {
                tracing::info!(relation_case_id = %receipt.relation_case_id, relation_type = %t, operator = %operator, "relation action committed");
                return Ok(receipt);
            }
            Err(e) => {
                if let Some(err) = retry_or(e) {
                    return Err(err);
                }
            }
        }
    }
    Err(CaseError::Internal("contention, try again".into()))
}

/// Records an outbound action on `case` (pending action, history entry) and returns the
/// writes (case, listing, history, outbox callback).
fn outbound_writes(
    case: &mut Case,
    read_version: Option<u64>,
    t: RelationType,
    note: &str,
    operator: &str,
    before: CaseState,
    now: DateTime<Utc>,
) -> (Vec<crate::store::Write>, SendReceipt) {
    let unique_id = new_unique_id();
    let callback_id = new_callback_id(now);
    let request = RelationRequest::new(
        t,
        &case.order_id,
        case.case_id.as_deref(),
        &case.relation_case_id,
        operator,
        case.category_id.as_deref(),
        note,
        &unique_id,
    );
    let callback = request.callback(&callback_id, now);
    case.actions.push(Action {
        unique_id: unique_id.clone(),
        callback_id: callback_id.clone(),
        relation_type: t,
        operator: operator.to_string(),
        created_at: now,
        status: ActionStatus::Pending,
        error: None,
        settled_at: None,
    });
    case.updated_at = now;
    case.history_len += 1;
    let entry = HistoryEntry {
        seq: case.history_len,
        at: now,
        kind: EntryKind::Outbound,
        relation_type: t,
        operator: operator.to_string(),
        state_before: before,
        state_after: case.state,
        category_id: case.category_id.clone(),
        attributes: (!note.is_empty()).then(|| super::model::Attributes::from_note(note)),
        note: (!note.is_empty()).then(|| note.to_string()),
        unique_id: Some(unique_id.clone()),
        callback_id: Some(callback_id.clone()),
        raw: None,
        unknown_fields: Vec::new(),
    };
    let mut writes = case_writes(case, read_version, &[entry]);
    writes.push(callback.insert());
    let receipt = SendReceipt {
        relation_case_id: case.relation_case_id.clone(),
        relation_type: t,
        state: case.state,
        unique_id: Some(unique_id),
        callback_id: Some(callback_id),
    };
    (writes, receipt)
}

/// What recording an outcome did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeEffect {
    /// Accepted by Fliggy; the case is now in `state`.
    Applied { state: CaseState },
    /// Accepted by Fliggy, but the case had moved on: the transition no longer applies.
    NotApplied { reason: String },
    /// Refused or failed: recorded and surfaced, state unchanged.
    Failed { error: String },
    /// This outcome was already recorded (a repeated report).
    AlreadyRecorded,
}

/// Records the final outcome of the outbound action `unique_id` of case `relation_case_id`.
/// Accepted with `result=true`: the action's transition is applied if still legal, and
/// `data.case_id`, `slafz` and Fliggy's handler are stored. Otherwise the action is marked
/// failed (with Fliggy's refusal as wire words it) and the case keeps its state.
pub async fn record_outcome(
    store: &dyn Store,
    relation_case_id: &str,
    unique_id: &str,
    outcome: &OutboundOutcome,
    now: DateTime<Utc>,
) -> Result<OutcomeEffect, CaseError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(found) = load_case(store, relation_case_id).await? else {
            return Err(CaseError::CaseNotFound(format!("relation case {relation_case_id}")));
        };
        let mut case = found.case;
        let Some(idx) = case.actions.iter().position(|a| a.unique_id == unique_id) else {
            return Err(CaseError::CaseNotFound(format!("action {unique_id} on relation case {relation_case_id}")));
        };
        let action = case.actions[idx].clone();
        let before = case.state;
        let mut writes = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let (effect, operator) = match outcome {
            OutboundOutcome::Accepted(reply) if reply.accepted => {
                if action.status == ActionStatus::Delivered {
                    return Ok(OutcomeEffect::AlreadyRecorded);
                }
                // What Fliggy tells us about the case, whatever the transition.
                if let Some(cid) = &reply.case_id {
                    match &case.case_id {
                        None => match lookup_fliggy(store, cid).await? {
                            None => {
                                writes.push(pointer_write(cid, &case.relation_case_id));
                                case.case_id = Some(cid.clone());
                            }
                            Some(r) if r == case.relation_case_id => case.case_id = Some(cid.clone()),
                            Some(r) => notes.push(format!("Fliggy case {cid} is already bound to relation case {r}")),
                        },
                        Some(known) if known != cid => notes.push(format!("Fliggy answered case_id {cid}, the case has {known}")),
                        Some(_) => {}
                    }
                }
                if let Some(s) = &reply.slafz {
                    case.slafz = Some(s.clone());
                    case.sla_deadline = parse_slafz(s);
                }
                if let Some(op) = &reply.operator {
                    case.fliggy_handler = Some(op.clone());
                }
                case.last_error = None;
                let label = case.label();
                let effect = match machine::transition(case.owner, case.state, Actor::Supplier, action.relation_type, &label) {
                    Ok(next) => {
                        case.state = next;
                        if action.relation_type == RelationType::UrgeCase {
                            case.urges_sent += 1;
                        }
                        notes.insert(0, "accepted by Fliggy".into());
                        OutcomeEffect::Applied { state: next }
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        notes.insert(0, format!("accepted by Fliggy; not applied: {reason}"));
                        OutcomeEffect::NotApplied { reason }
                    }
                };
                let a = &mut case.actions[idx];
                a.status = ActionStatus::Delivered;
                a.error = None;
                a.settled_at = Some(now);
                (effect, reply.operator.clone().unwrap_or_else(|| "fliggy".into()))
            }
            other => {
                if action.status != ActionStatus::Pending {
                    return Ok(OutcomeEffect::AlreadyRecorded);
                }
                let error = match other {
                    OutboundOutcome::Accepted(reply) => reply.refusal.clone().unwrap_or_else(|| "refused".into()),
                    OutboundOutcome::Failed { code, message } => match code {
                        Some(c) => format!("{c}: {message}"),
                        None => message.clone(),
                    },
                };
                let a = &mut case.actions[idx];
                a.status = ActionStatus::Failed;
                a.error = Some(error.clone());
                a.settled_at = Some(now);
                case.last_error = Some(error.clone());
                notes.push(format!("refused: {error}"));
                (OutcomeEffect::Failed { error }, "busgate".to_string())
            }
        };
        case.updated_at = now;
        case.history_len += 1;
        let entry = HistoryEntry {
            seq: case.history_len,
            at: now,
            kind: EntryKind::Outcome,
            relation_type: action.relation_type,
            operator,
            state_before: before,
            state_after: case.state,
            category_id: None,
            attributes: None,
            note: Some(notes.join("; ")),
            unique_id: Some(action.unique_id.clone()),
            callback_id: Some(action.callback_id.clone()),
            raw: None,
            unknown_fields: Vec::new(),
        };
        writes.extend(case_writes(&case, Some(found.version), &[entry]));
        match store.transact(writes).await {
            Ok(()) => {
                tracing::info!(relation_case_id, unique_id, effect = ?effect, "relation outcome recorded");
                return Ok(effect);
            }
            Err(e) => {
                if let Some(err) = retry_or(e) {
                    return Err(err);
                }
            }
        }
    }
    Err(CaseError::Internal("contention, try again".into()))
}
