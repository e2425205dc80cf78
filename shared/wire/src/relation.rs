//! The answer of the inbound collaboration endpoint `POST /fliggy/relation` (partners.md
//! §1.3 and the Busgate decisions): a bare JSON object
//! `{"relation_case_id":…, "success":…, "error_info":…}` with absent values omitted, HTTP 200
//! for every answer except our own failure (`E_INTERNAL`, HTTP 500, so that Fliggy retries).
//! This is the one renderer of that body.

use busgate_domain::cases::{self, CaseError, RelationConfig};
use busgate_domain::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

mod inbound;
mod outbound;

pub use inbound::parse_inbound;
pub use outbound::{
    action_of, fill_caller_info, outcome_of, params, parse_reply, request_json, TopErrorResponse, CALLER_INFO_PARAM, CALLER_INFO_PLACEHOLDER,
    RELATION_METHOD, REQUEST_PARAM,
};

/// Error codes of partners.md §1.8 as amended by the Busgate decisions (`error_info` is
/// `"<CODE>: <detail>"`).
pub mod codes {
    pub const MALFORMED_JSON: &str = "E_MALFORMED_JSON";
    pub const TOO_LARGE: &str = "E_TOO_LARGE";
    pub const MEDIA_TYPE: &str = "E_MEDIA_TYPE";
    pub const TIMESTAMP: &str = "E_TIMESTAMP";
    pub const MISSING_FIELD: &str = "E_MISSING_FIELD";
    pub const INVALID_ENUM: &str = "E_INVALID_ENUM";
    pub const INVALID_FORMAT: &str = "E_INVALID_FORMAT";
    pub const DIRECTION: &str = "E_DIRECTION";
    pub const CASE_NOT_FOUND: &str = "E_CASE_NOT_FOUND";
    pub const CASE_CLOSED: &str = "E_CASE_CLOSED";
    pub const INVALID_TRANSITION: &str = "E_INVALID_TRANSITION";
    pub const CONFLICT: &str = "E_CONFLICT";
    pub const INTERNAL: &str = "E_INTERNAL";
    /// The whole `error_info` of a signature failure (replaces `E_SIGN`).
    pub const SIGN_FAILURE: &str = "sign-check-failure: Illegal request";
}

/// The §1.8 code of a refusal (`E_CONFLICT`, …).
pub fn code(e: &CaseError) -> &'static str {
    match e {
        CaseError::MalformedJson(_) => codes::MALFORMED_JSON,
        CaseError::TooLarge(_) => codes::TOO_LARGE,
        CaseError::MissingField(_) => codes::MISSING_FIELD,
        CaseError::InvalidEnum(_) => codes::INVALID_ENUM,
        CaseError::InvalidFormat(_) => codes::INVALID_FORMAT,
        CaseError::Direction(_) => codes::DIRECTION,
        CaseError::CaseNotFound(_) => codes::CASE_NOT_FOUND,
        CaseError::CaseClosed(_) => codes::CASE_CLOSED,
        CaseError::InvalidTransition(_) => codes::INVALID_TRANSITION,
        CaseError::Conflict(_) => codes::CONFLICT,
        CaseError::Internal(_) => codes::INTERNAL,
    }
}

/// `error_info` of a refusal: `"<CODE>: <detail>"`.
pub fn error_info(e: &CaseError) -> String {
    format!("{}: {}", code(e), e.detail())
}

/// The answer to an inbound collaboration message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationAnswer {
    pub relation_case_id: Option<String>,
    pub success: bool,
    pub error_info: Option<String>,
    /// Our own failure: HTTP 500 (`E_INTERNAL`) so that Fliggy retries.
    pub internal_error: bool,
}

impl RelationAnswer {
    pub fn ok(relation_case_id: impl Into<String>) -> Self {
        RelationAnswer { relation_case_id: Some(relation_case_id.into()), success: true, error_info: None, internal_error: false }
    }

    /// A refusal; `relation_case_id` is not sent (nothing was accepted).
    pub fn refused(e: &CaseError) -> Self {
        RelationAnswer { relation_case_id: None, success: false, error_info: Some(error_info(e)), internal_error: e.is_internal() }
    }
}

/// Reads an inbound message from its raw body ([`parse_inbound`], §1.9) and hands it to the
/// domain's case service: the answer to send, whatever happened.
pub async fn receive(store: &dyn Store, body: &[u8], now: DateTime<Utc>, cfg: &RelationConfig) -> RelationAnswer {
    let msg = match parse_inbound(body, cfg) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(code = code(&e), error = %e, "relation message refused");
            return RelationAnswer::refused(&e);
        }
    };
    match cases::receive(store, &msg, body, now, cfg).await {
        Ok(accepted) => RelationAnswer::ok(accepted.relation_case_id),
        Err(e) => RelationAnswer::refused(&e),
    }
}

/// The exact body of a signature failure (replaces `E_SIGN`).
pub const SIGN_FAILURE_BODY: &str = r#"{"success":false,"error_info":"sign-check-failure: Illegal request"}"#;

/// `Content-Type` of every answer.
pub const CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// The body of an answer: members in this order, absent values omitted (never `null`).
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    relation_case_id: Option<&'a str>,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_info: Option<&'a str>,
}

/// Renders an answer as its JSON body (key order `relation_case_id`, `success`,
/// `error_info`; absent values omitted, never `null`).
pub fn render(answer: &RelationAnswer) -> String {
    let body = Body { relation_case_id: answer.relation_case_id.as_deref(), success: answer.success, error_info: answer.error_info.as_deref() };
    serde_json::to_string(&body).expect("plain strings serialise")
}

/// The HTTP status of an answer: 500 for `internal_error`, else 200.
pub fn status(answer: &RelationAnswer) -> u16 {
    if answer.internal_error {
        500
    } else {
        200
    }
}

/// Status and body of an answer.
pub fn respond(answer: &RelationAnswer) -> (u16, String) {
    (status(answer), render(answer))
}

fn refusal(code: &str, detail: &str) -> String {
    render(&RelationAnswer {
        relation_case_id: None,
        success: false,
        error_info: Some(if detail.is_empty() { code.to_string() } else { format!("{code}: {detail}") }),
        internal_error: false,
    })
}

/// `E_MALFORMED_JSON: <detail>` (HTTP 200); `detail` should name line and column.
pub fn malformed_json(detail: &str) -> String {
    refusal(codes::MALFORMED_JSON, detail)
}

/// `E_TOO_LARGE: body exceeds <limit> bytes` (HTTP 200, body not parsed).
pub fn too_large(limit: usize) -> String {
    refusal(codes::TOO_LARGE, &format!("body exceeds {limit} bytes"))
}

/// `E_MEDIA_TYPE: content type "<ct>" is not JSON` (HTTP 200; a signed body that is not JSON).
pub fn media_type(content_type: Option<&str>) -> String {
    match content_type {
        Some(ct) => refusal(codes::MEDIA_TYPE, &format!("content type \"{ct}\" is not JSON")),
        None => refusal(codes::MEDIA_TYPE, "content type missing"),
    }
}

/// `E_TIMESTAMP: <detail>` (HTTP 200), e.g. `timestamp missing` or
/// `timestamp older than 300 seconds`.
pub fn timestamp(detail: &str) -> String {
    refusal(codes::TIMESTAMP, detail)
}

/// `E_INTERNAL` body (send it with HTTP 500).
pub fn internal() -> String {
    refusal(codes::INTERNAL, "internal error, please retry")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn renders_success_with_id() {
        let a = RelationAnswer::ok("R1");
        assert_eq!(render(&a), r#"{"relation_case_id":"R1","success":true}"#);
        assert_eq!(status(&a), 200);
    }

    #[test]
    fn renders_refusal_without_id() {
        let a = RelationAnswer { relation_case_id: None, success: false, error_info: Some("E_CASE_NOT_FOUND: case 9".into()), internal_error: false };
        assert_eq!(render(&a), r#"{"success":false,"error_info":"E_CASE_NOT_FOUND: case 9"}"#);
    }

    #[test]
    fn internal_is_500() {
        let a = RelationAnswer { relation_case_id: None, success: false, error_info: Some("E_INTERNAL: x".into()), internal_error: true };
        assert_eq!(respond(&a).0, 500);
    }

    #[test]
    fn escapes_text() {
        let a = RelationAnswer { relation_case_id: None, success: false, error_info: Some("E_X: \"q\" 中".into()), internal_error: false };
        let v: Value = serde_json::from_str(&render(&a)).unwrap();
        assert_eq!(v["error_info"], "E_X: \"q\" 中");
    }

    #[test]
    fn constant_answers() {
        let v: Value = serde_json::from_str(SIGN_FAILURE_BODY).unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["error_info"], "sign-check-failure: Illegal request");
        assert_eq!(SIGN_FAILURE_BODY, refusal("sign-check-failure", "Illegal request"));
        assert_eq!(too_large(65536), r#"{"success":false,"error_info":"E_TOO_LARGE: body exceeds 65536 bytes"}"#);
        assert!(malformed_json("x at line 1 column 15").contains("E_MALFORMED_JSON: x at line 1 column 15"));
        assert!(media_type(Some("text/plain")).contains("E_MEDIA_TYPE: content type \\\"text/plain\\\" is not JSON"));
        assert!(timestamp("timestamp missing").contains("\"E_TIMESTAMP: timestamp missing\""));
        assert!(internal().contains("E_INTERNAL"));
    }
}
