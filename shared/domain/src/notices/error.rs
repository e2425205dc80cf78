//! Errors of the Fenbeitong notice endpoint and the one renderer of its answers
//! (partners.md §2.7: HTTP status, `code`, `msg`).

use serde::Serialize;

/// Largest body accepted (V3).
pub const MAX_BODY_BYTES: usize = 262_144;

/// Content type of every answer.
pub const RESPONSE_CONTENT_TYPE: &str = "application/json";

/// Why a notice was refused. Every message starts with the JSON path it concerns (when there is
/// one) and shows the offending value, e.g. `orders[0].category: expected integer, got string "6"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// V1: unknown path token (or tenant). 401 / 40100.
    #[error("unauthorized callback URL")]
    Unauthorized,
    /// V2: content type not `application/json` (charset utf-8). 415 / 41500.
    #[error("{0}")]
    MediaType(String),
    /// V3: body larger than [`MAX_BODY_BYTES`]. 413 / 41300.
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize, size: usize },
    /// V4: not UTF-8, not JSON, not an object at the top, duplicate member names. 400 / 40000.
    #[error("{0}")]
    Malformed(String),
    /// V5/V8: a required field is absent, null or blank. 400 / 40001.
    #[error("{0}")]
    Missing(String),
    /// V6: wrong JSON type. 400 / 40002.
    #[error("{0}")]
    WrongType(String),
    /// V7: value outside its enumeration. 400 / 40003.
    #[error("{0}")]
    InvalidValue(String),
    /// V9/V13: bad format or out of limits. 400 / 40004.
    #[error("{0}")]
    Format(String),
    /// V10/V11/V12: fields inconsistent with each other. 400 / 40005.
    #[error("{0}")]
    Inconsistent(String),
    /// V14: the same `apply.id` was already received with different content. 409 / 40900.
    #[error("apply.id {apply_id} already received with different content")]
    Conflict { apply_id: String },
    /// V17: our own failure (store down). 500 / 50000. The detail is for our logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl NoticeError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
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

    /// The `code` of the answer body.
    pub fn code(&self) -> u32 {
        match self {
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

    /// The `msg` sent to Fenbeitong: the Display text, except for internal failures, whose
    /// detail stays in our logs.
    pub fn public_message(&self) -> String {
        match self {
            NoticeError::Internal(_) => "internal error, please retry".to_string(),
            other => other.to_string(),
        }
    }
}

/// What the notice endpoint accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored for the first time; an approval task is pending.
    Accepted { apply_id: String },
    /// The same notice (same canonical body, same company) was already stored; nothing done.
    Duplicate { apply_id: String },
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
        Err(e) => (e.status(), e.code(), e.public_message(), Some(request_id).filter(|r| !r.is_empty())),
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
        return Err(refuse(&format!("unsupported media type {}", super::json::quote(value))));
    }
    for p in parts {
        let Some((name, v)) = p.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches('"');
            if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                return Err(refuse(&format!("unsupported charset {}", super::json::quote(v))));
            }
        }
    }
    Ok(())
}

/// V3: refuses a body over [`MAX_BODY_BYTES`] (call it before reading more, with the declared
/// length, and again with the bytes read).
pub fn check_size(size: usize) -> Result<(), NoticeError> {
    if size > MAX_BODY_BYTES {
        Err(NoticeError::TooLarge { limit: MAX_BODY_BYTES, size })
    } else {
        Ok(())
    }
}
