//! Our actions on collaboration cases as Fliggy receives them: TOP API
//! `alitrip.serve.workorder.relation` (partners.md §1.4), and Fliggy's answer (§1.7).
//!
//! The call carries two business parameters, in this order: [`CALLER_INFO_PARAM`]
//! (`{app_name, app_secret}`, filled by the sender from configuration with
//! [`fill_caller_info`]: never stored, never logged) and [`REQUEST_PARAM`], the request JSON in
//! the table order of §1.4 with absent values omitted.

use busgate_domain::cases::{ActionRef, Attributes, OutboundOutcome, OutboundReply, RelationRequest, RelationType};
use busgate_domain::outbox::{Callback, Destination};
use serde::Serialize;
use serde_json::Value;

/// The TOP method of every outbound collaboration message.
pub const RELATION_METHOD: &str = "alitrip.serve.workorder.relation";
/// Business parameter holding `CallerInfo` (JSON string `{app_name, app_secret}`).
pub const CALLER_INFO_PARAM: &str = "caller_info";
/// Business parameter holding `ReceiveRelationCaseRequest` (JSON string).
pub const REQUEST_PARAM: &str = "receive_relation_case_request";
/// What stands for `caller_info` until the sender fills it. Not JSON on purpose: a sender
/// that forgets to fill it fails loudly instead of sending an empty identity.
pub const CALLER_INFO_PLACEHOLDER: &str = "<caller_info: filled from configuration when sending>";

/// The parameters to sign and send: `params` with `caller_info` replaced by
/// `{"app_name":…,"app_secret":…}`. The result holds the secret: never log it.
pub fn fill_caller_info(params: &[(String, String)], app_name: &str, app_secret: &str) -> Vec<(String, String)> {
    let info = serde_json::json!({ "app_name": app_name, "app_secret": app_secret }).to_string();
    params.iter().map(|(k, v)| if k == CALLER_INFO_PARAM { (k.clone(), info.clone()) } else { (k.clone(), v.clone()) }).collect()
}

/// The case action a callback carries: typed (`Destination::Case`), or — committed before
/// actions were typed — the TOP call as rendered then, whose [`REQUEST_PARAM`] names it.
/// `None` for any other callback.
pub fn action_of(cb: &Callback) -> Option<ActionRef> {
    if let Destination::Top { method, params } = &cb.destination {
        if method != RELATION_METHOD {
            return None;
        }
        let (_, json) = params.iter().find(|(k, _)| k == REQUEST_PARAM)?;
        let v: Value = serde_json::from_str(json).ok()?;
        return Some(ActionRef {
            relation_case_id: v.get("relation_case_id")?.as_str()?.to_string(),
            unique_id: v.get("unique_id")?.as_str()?.to_string(),
        });
    }
    busgate_domain::cases::action_of(cb)
}

/// `ReceiveRelationCaseRequest` in the table order of §1.4, absent values omitted.
#[derive(Serialize)]
struct Request<'a> {
    relation_type: RelationType,
    order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    case_id: Option<&'a str>,
    relation_case_id: &'a str,
    operator: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category_id: Option<&'a str>,
    /// A JSON string `{"content":…}` (TOP carries complex values as JSON text).
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<String>,
    unique_id: &'a str,
}

/// The request JSON of an action.
pub fn request_json(r: &RelationRequest) -> String {
    let request = Request {
        relation_type: r.relation_type,
        order_id: &r.order_id,
        case_id: r.case_id.as_deref(),
        relation_case_id: &r.relation_case_id,
        operator: &r.operator,
        category_id: r.category_id.as_deref(),
        attributes: (!r.note.is_empty()).then(|| Attributes::from_note(&r.note).raw),
        unique_id: &r.unique_id,
    };
    serde_json::to_string(&request).expect("request serialises")
}

/// The business parameters of an action's call, `caller_info` as the placeholder.
pub fn params(r: &RelationRequest) -> Vec<(String, String)> {
    vec![(CALLER_INFO_PARAM.to_string(), CALLER_INFO_PLACEHOLDER.to_string()), (REQUEST_PARAM.to_string(), request_json(r))]
}

/// A TOP `error_response` (transport-level refusal; the sender classifies it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopErrorResponse {
    pub code: Option<String>,
    pub msg: Option<String>,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
}

/// How a case action ended, from Fliggy's final answer: taken or refused (`result`), or a TOP
/// `error_response` (its sub-code and message, else its code and message). `None` when the
/// answer cannot be read.
pub fn outcome_of(answer: &str) -> Option<OutboundOutcome> {
    match parse_reply(answer) {
        Ok(reply) => Some(OutboundOutcome::Accepted(reply)),
        Err(Ok(err)) => Some(OutboundOutcome::Failed { code: err.sub_code.or(err.code), message: err.sub_msg.or(err.msg).unwrap_or_default() }),
        Err(Err(_)) => None,
    }
}

/// Fliggy's answer to an action (`ReceiveRelationCaseVO`), with or without the
/// `alitrip_serve_workorder_relation_response` wrapper. An `error_response` is returned as
/// `Err(Ok(..))`; an unreadable body as `Err(Err(reason))`.
pub fn parse_reply(body: &str) -> Result<OutboundReply, Result<TopErrorResponse, String>> {
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
    // A refusal reads `<msg_code>: <error_msg or msg_info>`, or what of it is there.
    let refusal = (!result).then(|| {
        let code = s("msg_code").unwrap_or_else(|| "result=false".into());
        match s("error_msg").or_else(|| s("msg_info")) {
            Some(msg) => format!("{code}: {msg}"),
            None => code,
        }
    });
    Ok(OutboundReply {
        accepted: result,
        case_id: d("case_id"),
        relation_case_id: d("relation_case_id"),
        slafz: d("slafz"),
        operator: d("operator"),
        refusal,
    })
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
