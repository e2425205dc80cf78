//! Our messages to Fliggy on a case (`alitrip.serve.workorder.relation`, partners.md §1.4),
//! carried by the outbox, and how they ended.
//!
//! An action is committed as [`Destination::Case`] holding its [`RelationRequest`];
//! `busgate_wire::relation` renders it as the TOP call when it is sent (with `caller_info`
//! filled from configuration then, so no record ever holds the relation API's secret) and
//! reads Fliggy's answer into an [`OutboundReply`]. The `unique_id` is generated once per
//! action, so every retry carries the same one.
//!
//! Outcomes (§1.7, F15–F17), reported with [`record_callback_outcome`](super::record_callback_outcome):
//! * `result=true`: [`OutboundOutcome::Accepted`] applies the state change (e.g. our
//!   `startRelation` moves the case DRAFT → OPEN and stores `data.case_id` and `slafz`).
//! * `result=false` (`msg_code`): permanent, **never retried automatically**; recorded as
//!   failed, state unchanged, surfaced to the operator.
//! * Transport errors, 5xx, `isp.*`: retried as every TOP callback; nothing recorded.
//! * Out of attempts or another permanent TOP error: [`OutboundOutcome::Failed`].
//!
//! Recording is idempotent per `unique_id`: a second report of the same outcome changes
//! nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::RelationType;
use crate::outbox::{Callback, Destination};

/// One action we send Fliggy on a case (`ReceiveRelationCaseRequest`, §1.4), as the outbox
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationRequest {
    pub relation_type: RelationType,
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub relation_case_id: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    /// The operator's note (sent as `attributes` `{"content":…}`); empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub unique_id: String,
}

impl RelationRequest {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        relation_type: RelationType,
        order_id: &str,
        case_id: Option<&str>,
        relation_case_id: &str,
        operator: &str,
        category_id: Option<&str>,
        note: &str,
        unique_id: &str,
    ) -> Self {
        RelationRequest {
            relation_type,
            order_id: order_id.to_string(),
            case_id: case_id.map(str::to_string),
            relation_case_id: relation_case_id.to_string(),
            operator: operator.to_string(),
            category_id: category_id.map(str::to_string),
            note: note.to_string(),
            unique_id: unique_id.to_string(),
        }
    }

    /// The outbox callback carrying this request.
    pub fn callback(&self, callback_id: &str, now: DateTime<Utc>) -> Callback {
        let subject = format!("relation case {} {}", self.relation_case_id, self.relation_type);
        Callback::new(callback_id, Destination::Case { request: self.clone() }, subject, now)
    }
}

/// Which case action a relation callback carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    pub relation_case_id: String,
    pub unique_id: String,
}

/// The action of a relation callback (`None` for any other callback). Actions committed
/// before they were typed are TOP calls as rendered then: `busgate_wire::relation::action_of`
/// reads those too.
pub fn action_of(cb: &Callback) -> Option<ActionRef> {
    match &cb.destination {
        Destination::Case { request } => Some(ActionRef { relation_case_id: request.relation_case_id.clone(), unique_id: request.unique_id.clone() }),
        _ => None,
    }
}

/// What Fliggy answered to one of our case actions (`busgate_wire::relation` reads it from
/// the partner's answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundReply {
    /// Fliggy took the action.
    pub accepted: bool,
    pub case_id: Option<String>,
    pub relation_case_id: Option<String>,
    /// SLA deadline, `yyyy-MM-dd HH:mm:ss` GMT+8.
    pub slafz: Option<String>,
    pub operator: Option<String>,
    /// Why not, when not accepted: Fliggy's code and message, as wire words them.
    pub refusal: Option<String>,
}

/// The final outcome of one outbound action, as the sender reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOutcome {
    /// Fliggy answered (`result` true or false).
    Accepted(OutboundReply),
    /// Permanently failed without a business answer (permanent TOP error, out of attempts).
    Failed { code: Option<String>, message: String },
}

/// `slafz` (`yyyy-MM-dd HH:mm:ss`, GMT+8) as an instant.
pub fn parse_slafz(s: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    naive.and_local_timezone(crate::clock::gmt8()).single().map(|t| t.with_timezone(&Utc))
}
