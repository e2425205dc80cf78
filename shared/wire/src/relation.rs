//! The answer of the inbound collaboration endpoint `POST /fliggy/relation` (partners.md
//! §1.3 and the Busgate decisions): a bare JSON object
//! `{"relation_case_id":…, "success":…, "error_info":…}` with absent values omitted, HTTP 200
//! for every answer except our own failure (`E_INTERNAL`, HTTP 500, so that Fliggy retries).
//! This is the one renderer of that body.

use busgate_domain::cases::{codes, RelationAnswer};
use serde_json::Value;

/// The exact body of a signature failure (replaces `E_SIGN`).
pub const SIGN_FAILURE_BODY: &str = r#"{"success":false,"error_info":"sign-check-failure: Illegal request"}"#;

/// `Content-Type` of every answer.
pub const CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// Renders an answer as its JSON body (key order `relation_case_id`, `success`,
/// `error_info`; absent values omitted, never `null`).
pub fn render(answer: &RelationAnswer) -> String {
    // Written by hand so that the key order does not depend on serde_json features.
    let mut out = String::from("{");
    if let Some(id) = &answer.relation_case_id {
        out.push_str("\"relation_case_id\":");
        out.push_str(&Value::String(id.clone()).to_string());
        out.push(',');
    }
    out.push_str(if answer.success { "\"success\":true" } else { "\"success\":false" });
    if let Some(e) = &answer.error_info {
        out.push_str(",\"error_info\":");
        out.push_str(&Value::String(e.clone()).to_string());
    }
    out.push('}');
    out
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

/// `E_MALFORMED_JSON` for a serde_json error: `… at line L column C`.
pub fn malformed_json_error(e: &serde_json::Error) -> String {
    malformed_json(&format!("invalid JSON at line {} column {}", e.line(), e.column()))
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
        let e = serde_json::from_str::<Value>("{\"case_id\":\"1\",").unwrap_err();
        assert!(malformed_json_error(&e).contains("line 1 column"));
        assert!(internal().contains("E_INTERNAL"));
    }
}
