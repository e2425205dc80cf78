//! Our messages to Fliggy: TOP API `alitrip.serve.workorder.relation` (partners.md §1.4),
//! carried by the outbox.
//!
//! # For the sender (outbox worker)
//!
//! A relation callback is a [`Destination::Top`] with method [`RELATION_METHOD`] and two
//! business parameters, in this order:
//!
//! * [`CALLER_INFO_PARAM`] (`caller_info`): stored as [`CALLER_INFO_PLACEHOLDER`], **not** the
//!   real value, because the real value holds `app_secret` and the outbox record is shown by
//!   `busgate outbox list`. Before signing each attempt, replace it with
//!   [`fill_caller_info`]`(params, app_name, app_secret)` from configuration, and never log
//!   the filled parameters (nor the signature input).
//! * [`REQUEST_PARAM`] (`receive_relation_case_request`): the JSON string, fixed at commit
//!   time; its `unique_id` is generated once per action, so every retry carries the same one.
//!
//! Outcomes (§1.7, F15–F17): parse Fliggy's answer with [`OutboundReply::parse`].
//! * `result=true`: the callback is delivered; call
//!   [`record_callback_outcome`](super::record_callback_outcome) with
//!   [`OutboundOutcome::Accepted`]. That applies the state change (e.g. our `startRelation`
//!   moves the case DRAFT → OPEN and stores `data.case_id` and `slafz`).
//! * `result=false` (`msg_code`): permanent, **never retried automatically**; mark the
//!   callback dead and record the outcome with `Accepted(reply)` (it is recorded as failed,
//!   state unchanged, surfaced to the operator) or [`OutboundOutcome::Failed`].
//! * Transport errors, 5xx, `isp.*`: retry as for every TOP callback; record nothing.
//! * Out of attempts or another permanent TOP error: record `Failed { code, message }`.
//!
//! Recording is idempotent per `unique_id`: a second report of the same outcome changes
//! nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::model::{Attributes, RelationType};
use crate::outbox::{Callback, Destination};

/// The TOP method of every outbound collaboration message.
pub const RELATION_METHOD: &str = "alitrip.serve.workorder.relation";
/// Business parameter holding `CallerInfo` (JSON string `{app_name, app_secret}`).
pub const CALLER_INFO_PARAM: &str = "caller_info";
/// Business parameter holding `ReceiveRelationCaseRequest` (JSON string).
pub const REQUEST_PARAM: &str = "receive_relation_case_request";
/// What the outbox stores instead of `caller_info` (see the module doc). Not JSON on
/// purpose: a sender that forgets to fill it fails loudly instead of sending an empty
/// identity.
pub const CALLER_INFO_PLACEHOLDER: &str = "<caller_info: filled from configuration when sending>";

/// The parameters to sign and send: `params` with `caller_info` replaced by
/// `{"app_name":…,"app_secret":…}`. The result holds the secret: never log it.
pub fn fill_caller_info(params: &[(String, String)], app_name: &str, app_secret: &str) -> Vec<(String, String)> {
    let info = serde_json::json!({ "app_name": app_name, "app_secret": app_secret }).to_string();
    params.iter().map(|(k, v)| if k == CALLER_INFO_PARAM { (k.clone(), info.clone()) } else { (k.clone(), v.clone()) }).collect()
}

/// `ReceiveRelationCaseRequest`, in the table order of §1.4, absent values omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationRequest {
    pub relation_type: RelationType,
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub relation_case_id: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    /// A JSON string `{"content":…}` (TOP carries complex values as JSON text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
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
            attributes: (!note.is_empty()).then(|| Attributes::from_note(note).raw),
            unique_id: unique_id.to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("request serialises")
    }

    /// The outbox callback carrying this request (`caller_info` as the placeholder).
    pub fn callback(&self, callback_id: &str, now: DateTime<Utc>) -> Callback {
        let params = vec![(CALLER_INFO_PARAM.to_string(), CALLER_INFO_PLACEHOLDER.to_string()), (REQUEST_PARAM.to_string(), self.to_json())];
        Callback::new(
            callback_id,
            Destination::Top { method: RELATION_METHOD.to_string(), params },
            format!("relation case {} {}", self.relation_case_id, self.relation_type),
            now,
        )
    }
}

/// Which case action a relation callback carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    pub relation_case_id: String,
    pub unique_id: String,
}

/// The action of a relation callback (`None` for any other callback).
pub fn action_of(cb: &Callback) -> Option<ActionRef> {
    let Destination::Top { method, params } = &cb.destination else { return None };
    if method != RELATION_METHOD {
        return None;
    }
    let (_, json) = params.iter().find(|(k, _)| k == REQUEST_PARAM)?;
    let v: Value = serde_json::from_str(json).ok()?;
    Some(ActionRef { relation_case_id: v.get("relation_case_id")?.as_str()?.to_string(), unique_id: v.get("unique_id")?.as_str()?.to_string() })
}

/// Fliggy's answer to `alitrip.serve.workorder.relation` (`ReceiveRelationCaseVO`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundReply {
    pub result: bool,
    pub case_id: Option<String>,
    pub relation_case_id: Option<String>,
    /// SLA deadline, `yyyy-MM-dd HH:mm:ss` GMT+8.
    pub slafz: Option<String>,
    pub operator: Option<String>,
    pub msg_code: Option<String>,
    pub msg_info: Option<String>,
    pub error_msg: Option<String>,
}

/// A TOP `error_response` (transport-level refusal; the sender classifies it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopErrorResponse {
    pub code: Option<String>,
    pub msg: Option<String>,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
}

impl OutboundReply {
    /// Parses the answer body, with or without the `alitrip_serve_workorder_relation_response`
    /// wrapper. An `error_response` is returned as `Err(Ok(..))`; an unreadable body as
    /// `Err(Err(reason))`.
    pub fn parse(body: &str) -> Result<OutboundReply, Result<TopErrorResponse, String>> {
        let v: Value = serde_json::from_str(body).map_err(|e| Err(format!("unreadable answer: {e}")))?;
        if let Some(er) = v.get("error_response") {
            let s = |k: &str| er.get(k).and_then(scalar);
            return Err(Ok(TopErrorResponse { code: s("code"), msg: s("msg"), sub_code: s("sub_code"), sub_msg: s("sub_msg") }));
        }
        let r = v.get("alitrip_serve_workorder_relation_response").unwrap_or(&v);
        if !r.is_object() {
            return Err(Err("answer is not a JSON object".into()));
        }
        let s = |k: &str| r.get(k).and_then(scalar);
        let d = |k: &str| r.get("data").and_then(|d| d.get(k)).and_then(scalar);
        let result = match r.get("result") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(t)) => t == "true",
            _ => return Err(Err("answer has no result".into())),
        };
        Ok(OutboundReply {
            result,
            case_id: d("case_id"),
            relation_case_id: d("relation_case_id"),
            slafz: d("slafz"),
            operator: d("operator"),
            msg_code: s("msg_code"),
            msg_info: s("msg_info"),
            error_msg: s("error_msg"),
        })
    }
}

/// A string or number as text; `null`/`""` as absent.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
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
