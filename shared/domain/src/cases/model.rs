//! The data of collaboration cases: enums, the case record, its history entries, and the one
//! error type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::store::StoreError;

/// Every refusal of a collaboration message, inbound or from an operator command, by kind
/// with its detail; `busgate_wire::relation` gives each kind its §1.8 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("missing field: {0}")]
    MissingField(String),
    #[error("invalid value: {0}")]
    InvalidEnum(String),
    #[error("invalid format: {0}")]
    InvalidFormat(String),
    #[error("wrong direction: {0}")]
    Direction(String),
    #[error("no such case: {0}")]
    CaseNotFound(String),
    #[error("case closed: {0}")]
    CaseClosed(String),
    #[error("not allowed now: {0}")]
    InvalidTransition(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// Our fault (store down, contention that did not settle, corrupt record): Fliggy should
    /// try again.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CaseError {
    /// The detail, without the kind.
    pub fn detail(&self) -> &str {
        match self {
            CaseError::MalformedJson(d)
            | CaseError::TooLarge(d)
            | CaseError::MissingField(d)
            | CaseError::InvalidEnum(d)
            | CaseError::InvalidFormat(d)
            | CaseError::Direction(d)
            | CaseError::CaseNotFound(d)
            | CaseError::CaseClosed(d)
            | CaseError::InvalidTransition(d)
            | CaseError::Conflict(d)
            | CaseError::Internal(d) => d,
        }
    }

    pub fn is_internal(&self) -> bool {
        matches!(self, CaseError::Internal(_))
    }
}

impl From<StoreError> for CaseError {
    fn from(e: StoreError) -> Self {
        CaseError::Internal(e.to_string())
    }
}

/// `relation_type`: the collaboration action (§1.3, §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationType {
    StartRelation,
    Notify,
    UrgeCase,
    EndRelation,
    Result,
    SendBack,
    Reply,
}

impl RelationType {
    /// Every value, in the order an invalid value's message lists them.
    pub const ALL: [RelationType; 7] = [
        RelationType::StartRelation,
        RelationType::Notify,
        RelationType::UrgeCase,
        RelationType::EndRelation,
        RelationType::Result,
        RelationType::SendBack,
        RelationType::Reply,
    ];

    /// The wire name (exact, case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::StartRelation => "startRelation",
            RelationType::Notify => "notify",
            RelationType::UrgeCase => "urgeCase",
            RelationType::EndRelation => "endRelation",
            RelationType::Result => "result",
            RelationType::SendBack => "sendBack",
            RelationType::Reply => "reply",
        }
    }

    /// Exact match of a wire name.
    pub fn parse(s: &str) -> Option<RelationType> {
        RelationType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for RelationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who opened the case (and therefore sends start/urge/end; the other side sends
/// result/sendBack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// Opened by Fliggy (inbound `startRelation`/`notify`); keyed by Fliggy's `case_id`.
    Fliggy,
    /// Opened by us (outbound `startRelation`); keyed by our `relation_case_id`.
    Supplier,
}

impl Owner {
    /// `Fliggy-initiated` / `supplier-initiated`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Owner::Fliggy => "Fliggy-initiated",
            Owner::Supplier => "supplier-initiated",
        }
    }
}

/// The sender of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// Fliggy (inbound messages).
    Fliggy,
    /// Us (operator commands, outbound messages).
    Supplier,
}

impl Actor {
    pub fn label(self) -> &'static str {
        match self {
            Actor::Fliggy => "Fliggy",
            Actor::Supplier => "the supplier",
        }
    }
}

/// Case states of §1.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseState {
    /// Supplier-owned, our `startRelation` not yet accepted by Fliggy.
    Draft,
    /// Waiting for the handler's result.
    Open,
    /// Fliggy-owned notify-only case: no result expected.
    Notified,
    /// Fliggy-owned: we sent the result.
    ResultSent,
    /// Sent back by the handler (us for Fliggy-owned, Fliggy for supplier-owned).
    SentBack,
    /// Supplier-owned: Fliggy sent the result.
    ResultReceived,
    /// Terminal.
    Closed,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Draft => "DRAFT",
            CaseState::Open => "OPEN",
            CaseState::Notified => "NOTIFIED",
            CaseState::ResultSent => "RESULT_SENT",
            CaseState::SentBack => "SENT_BACK",
            CaseState::ResultReceived => "RESULT_RECEIVED",
            CaseState::Closed => "CLOSED",
        }
    }

    pub fn is_closed(self) -> bool {
        self == CaseState::Closed
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extension info (`attributes` / `attribute_s`) in whichever shape it came (§1.9.5): the raw
/// value is kept next to the parsed object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// The field name it came under (`attributes` or `attribute_s`).
    pub field: String,
    /// As received: the string itself, or the object's JSON text.
    pub raw: String,
    /// The object, when the value was an object or a string holding a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Map<String, Value>>,
    /// The plain text, when the value was a string that is not a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Attributes {
    /// The human text: `content` of the object (if a string), else the plain text.
    pub fn content(&self) -> Option<&str> {
        match (&self.object, &self.text) {
            (Some(o), _) => o.get("content").and_then(Value::as_str),
            (None, Some(t)) => Some(t.as_str()),
            _ => None,
        }
    }

    /// Attributes we send: `{"content": note}`.
    pub fn from_note(note: &str) -> Attributes {
        let mut object = Map::new();
        object.insert("content".into(), Value::String(note.to_string()));
        let raw = Value::Object(object.clone()).to_string();
        Attributes { field: "attributes".into(), raw, object: Some(object), text: None }
    }
}

/// A validated inbound message (§1.3, §1.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub case_id: String,
    pub relation_type: RelationType,
    pub relation_case_id: Option<String>,
    pub operator: String,
    pub category_id: Option<String>,
    pub order_id: String,
    pub attributes: Option<Attributes>,
    /// Fields we do not know (accepted and logged, §1.9.7).
    pub unknown_fields: Vec<String>,
    /// RFC 8785-style canonical JSON of the whole body (keys sorted), for the replay key.
    pub canonical: String,
}

/// Status of one outbound action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Committed to the outbox, no final outcome yet.
    Pending,
    /// Fliggy answered `result=true`; its transition was applied (if still legal).
    Delivered,
    /// Refused by Fliggy or out of attempts; surfaced to the
    /// operator, never retried automatically. A later delivery (DLQ replay) still applies.
    Failed,
}

/// One outbound action of a case: an operator command that became an outbox callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `unique_id` of the request: generated once per action, kept across retries.
    pub unique_id: String,
    pub callback_id: String,
    pub relation_type: RelationType,
    pub operator: String,
    pub created_at: DateTime<Utc>,
    pub status: ActionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
}

/// A collaboration case (the `CASE` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Our case number (always known; the primary key).
    pub relation_case_id: String,
    /// Fliggy's case number: from the first inbound message, or from the response to our
    /// `startRelation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub order_id: String,
    pub owner: Owner,
    pub state: CaseState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    /// Who opened it (Fliggy agent or our operator).
    pub opened_by: String,
    /// Extension info of the opening message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Urges received from Fliggy (replays inside the TTL count once).
    #[serde(default)]
    pub urges_received: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_urged_at: Option<DateTime<Utc>>,
    /// Urges we sent and Fliggy accepted.
    #[serde(default)]
    pub urges_sent: u32,
    /// SLA deadline as Fliggy gave it (`data.slafz`, `yyyy-MM-dd HH:mm:ss` GMT+8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slafz: Option<String>,
    /// `slafz` as an instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_deadline: Option<DateTime<Utc>>,
    /// Fliggy's handling agent (`data.operator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fliggy_handler: Option<String>,
    /// The last refused outbound action, for the operator (`"001: 失败"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Number of history entries (the next one is `history_len + 1`).
    pub history_len: u64,
    /// Outbound actions, oldest first.
    #[serde(default)]
    pub actions: Vec<Action>,
}

impl Case {
    /// A case just opened (by Fliggy or by us): no urges, no SLA, no history yet.
    pub fn opened(
        relation_case_id: String,
        case_id: Option<String>,
        order_id: String,
        owner: Owner,
        state: CaseState,
        opened_by: String,
        now: DateTime<Utc>,
    ) -> Case {
        Case {
            relation_case_id,
            case_id,
            order_id,
            owner,
            state,
            category_id: None,
            opened_by,
            attributes: None,
            created_at: now,
            updated_at: now,
            urges_received: 0,
            last_urged_at: None,
            urges_sent: 0,
            slafz: None,
            sla_deadline: None,
            fliggy_handler: None,
            last_error: None,
            history_len: 0,
            actions: Vec::new(),
        }
    }

    /// `case <case_id>` when Fliggy's id is known, else `relation case <relation_case_id>`.
    pub fn label(&self) -> String {
        match &self.case_id {
            Some(c) => format!("case {c}"),
            None => format!("relation case {}", self.relation_case_id),
        }
    }

    /// The pending state-changing action, if any (at most one at a time).
    pub fn pending_transition(&self) -> Option<&Action> {
        self.actions.iter().find(|a| a.status == ActionStatus::Pending && changes_state(a.relation_type))
    }

    pub fn action(&self, unique_id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.unique_id == unique_id)
    }

    pub fn summary(&self) -> CaseSummary {
        CaseSummary {
            relation_case_id: self.relation_case_id.clone(),
            case_id: self.case_id.clone(),
            order_id: self.order_id.clone(),
            owner: self.owner,
            state: self.state,
            urges_received: self.urges_received,
            urges_sent: self.urges_sent,
            slafz: self.slafz.clone(),
            sla_deadline: self.sla_deadline,
            pending: self.actions.iter().filter(|a| a.status == ActionStatus::Pending).count() as u32,
            last_error: self.last_error.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Whether an action of this type may move the state (only one such action may be in flight).
pub fn changes_state(t: RelationType) -> bool {
    !matches!(t, RelationType::UrgeCase | RelationType::Reply)
}

/// A line of `busgate cases list` (the `LIST` record's body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub relation_case_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub order_id: String,
    pub owner: Owner,
    pub state: CaseState,
    pub urges_received: u32,
    pub urges_sent: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slafz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_deadline: Option<DateTime<Utc>>,
    /// Outbound actions without a final outcome.
    pub pending: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A message from Fliggy that we accepted.
    Inbound,
    /// A message we committed to the outbox.
    Outbound,
    /// Fliggy's final answer to one of our messages (or its failure).
    Outcome,
    /// A local change with no message (closing a draft that never reached Fliggy).
    Local,
}

/// One entry of a case's history (`H#000001`, …): every inbound and outbound message, with
/// time and operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub relation_type: RelationType,
    /// Fliggy's agent (inbound), our operator (outbound), Fliggy's handler or `busgate`
    /// (outcome).
    pub operator: String,
    pub state_before: CaseState,
    pub state_after: CaseState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// The operator's note (outbound) or what happened (outcome, local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Inbound: the body as received. Outbound: none (entries written before actions were
    /// typed hold the request JSON); what is sent is the callback's (`callback_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_fields: Vec<String>,
}

/// A case with its history (`busgate cases show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetail {
    pub case: Case,
    pub history: Vec<HistoryEntry>,
}

/// Limits and switches of the inbound endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationConfig {
    /// Body limit (§1.8: 64 KiB). The edge checks it first; `receive` checks again.
    pub max_body_bytes: usize,
    /// `order_id` must be `^[0-9]{1,32}$` (§1.9.4, a switch).
    pub numeric_order_id: bool,
    /// How long a successful answer is replayed byte for byte (§1.7: 24 h).
    pub replay_ttl_secs: i64,
}

impl Default for RelationConfig {
    fn default() -> Self {
        RelationConfig { max_body_bytes: 64 * 1024, numeric_order_id: true, replay_ttl_secs: 24 * 3600 }
    }
}

/// Whether `s` is a Fliggy order id: `^[0-9]{1,32}$`.
pub fn is_order_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Longest id (`case_id`, `relation_case_id`, `category_id`, `order_id`) and `operator`.
pub const MAX_ID_CHARS: usize = 64;
/// Longest `attributes` (bytes of the raw value).
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
