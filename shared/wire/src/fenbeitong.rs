//! Fenbeitong (分贝通) refund/rebook notices as they arrive (partners.md §2.7): the strict
//! intake of the body ([`validate`], V2–V16, every problem naming its JSON path and value)
//! and the one renderer of the answers (HTTP status, `code`, `msg`); and the operator's
//! decisions as Fenbeitong's calls ([`decision_call`], §2.5). The domain stores and
//! decides what this module has read. The edge handler is a few lines:
//!
//! ```text
//! company = tokens.authorize(path_token)?                   // 401 40100, nothing read
//! check_content_type(header)?                      // 415 41500
//! result  = receive(store, company, body, now).await  // 413, 400 400xx; stored once
//! respond(&result, request_id)                     // status + {"code":…,"msg":…}
//! ```

use busgate_domain::notices::{self, IntakeOutcome, NoticeError};
use busgate_domain::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

mod decision;
mod json;
mod validate;

pub use decision::{decision_call, decision_data, decision_path, APPROVE_PATH, REFUND_CHANGE_CATEGORY, REJECT_PATH};
pub use json::MAX_DEPTH;
pub use validate::{
    check_size, validate, validate_with, ValidateOptions, MAX_BODY_BYTES, MAX_COST_ATTRIBUTIONS, MAX_ORDERS, MAX_STRING_CHARS, MAX_TEXT_CHARS,
    MAX_UNKNOWN_KEPT,
};

/// Reads a notice body ([`validate`]) and hands it to the domain's intake, which stores it
/// once with the raw body: what the endpoint does after its token and media type.
pub async fn receive<S: Store + ?Sized>(store: &S, company: &str, body: &[u8], now: DateTime<Utc>) -> Result<IntakeOutcome, NoticeError> {
    let notice = validate(body)?;
    notices::intake(store, company, notice, body, now).await
}

/// Content type of every answer.
pub const RESPONSE_CONTENT_TYPE: &str = "application/json";

/// The HTTP status of a refusal.
pub fn status(e: &NoticeError) -> u16 {
    match e {
        NoticeError::Unauthorized => 401,
        NoticeError::MediaType(_) => 415,
        NoticeError::TooLarge { .. } => 413,
        NoticeError::Malformed(_)
        | NoticeError::Missing(_)
        | NoticeError::WrongType(_)
        | NoticeError::InvalidValue(_)
        | NoticeError::Format(_)
        | NoticeError::Inconsistent(_) => 400,
        NoticeError::Conflict { .. } => 409,
        NoticeError::Internal(_) => 500,
    }
}

/// The `code` of a refusal's body.
pub fn code(e: &NoticeError) -> u32 {
    match e {
        NoticeError::Unauthorized => 40100,
        NoticeError::MediaType(_) => 41500,
        NoticeError::TooLarge { .. } => 41300,
        NoticeError::Malformed(_) => 40000,
        NoticeError::Missing(_) => 40001,
        NoticeError::WrongType(_) => 40002,
        NoticeError::InvalidValue(_) => 40003,
        NoticeError::Format(_) => 40004,
        NoticeError::Inconsistent(_) => 40005,
        NoticeError::Conflict { .. } => 40900,
        NoticeError::Internal(_) => 50000,
    }
}

/// The `msg` sent to Fenbeitong: the error's text, except for internal failures, whose detail
/// stays in our logs.
pub fn public_message(e: &NoticeError) -> String {
    match e {
        NoticeError::Internal(_) => "internal error, please retry".to_string(),
        other => other.to_string(),
    }
}

/// An HTTP answer to Fenbeitong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// JSON text; its content type is [`RESPONSE_CONTENT_TYPE`].
    pub body: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: u32,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// The one renderer of answers to Fenbeitong:
/// success `200 {"code":0,"msg":"success"}`, duplicate `200 {"code":0,"msg":"duplicate ignored"}`,
/// failure `<status> {"code":<code>,"msg":"<path>: <problem>","request_id":"<ours>"}`
/// (`request_id` left out when empty).
pub fn respond(result: &Result<IntakeOutcome, NoticeError>, request_id: &str) -> Response {
    let (status, code, msg, rid) = match result {
        Ok(IntakeOutcome::Accepted { .. }) => (200, 0, "success".to_string(), None),
        Ok(IntakeOutcome::Duplicate { .. }) => (200, 0, "duplicate ignored".to_string(), None),
        Err(e) => (status(e), code(e), public_message(e), Some(request_id).filter(|r| !r.is_empty())),
    };
    let body = serde_json::to_string(&Body { code, msg: &msg, request_id: rid })
        .unwrap_or_else(|_| r#"{"code":50000,"msg":"internal error, please retry"}"#.to_string());
    Response { status, body }
}

/// V2: the request's `Content-Type` must be `application/json`, optionally with
/// `charset=utf-8` (any case, optionally quoted); another charset, another type or no header
/// is refused with 415.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), NoticeError> {
    let refuse = |why: &str| NoticeError::MediaType(format!("Content-Type: {why} (expected application/json)"));
    let Some(value) = content_type else {
        return Err(refuse("missing"));
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(refuse(&format!("unsupported media type {}", json::quote(value))));
    }
    for p in parts {
        let Some((name, v)) = p.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches('"');
            if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                return Err(refuse(&format!("unsupported charset {}", json::quote(v))));
            }
        }
    }
    Ok(())
}
