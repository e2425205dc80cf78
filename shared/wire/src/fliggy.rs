//! The Fliggy bus envelope (fliggy-bus.md §2.3–§2.4): every answer is HTTP 200 with a bare
//! JSON object `retCode`/`retDesc`/`success` and, on success only, the data at the top level.
//! This is the one renderer of that envelope.

use serde_json::{Map, Value};

/// The exact body of a signature failure (the only answer whose `success` is a String).
pub const SIGN_FAILURE_BODY: &str = r#"{"retDesc":"Illegal request","success":"false","retCode":"sign-check-failure"}"#;

/// Result codes of §2.4 (other than success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetCode {
    Stopped,
    NotEnoughSeats,
    UnknownSchedule,
    ScheduleMismatch,
    InvalidParameter,
    OrderNotFound,
    InvalidState,
    TimestampExpired,
    BodyTooLarge,
    SystemError,
}

impl RetCode {
    pub fn code(self) -> &'static str {
        match self {
            RetCode::Stopped => "1102",
            RetCode::NotEnoughSeats => "1104",
            RetCode::UnknownSchedule => "1114",
            RetCode::ScheduleMismatch => "1401",
            RetCode::InvalidParameter => "invalid-parameter",
            RetCode::OrderNotFound => "order-not-found",
            RetCode::InvalidState => "invalid-state",
            RetCode::TimestampExpired => "timestamp-expired",
            RetCode::BodyTooLarge => "body-too-large",
            RetCode::SystemError => "system-error",
        }
    }

    /// The standard `retDesc` (`invalid-parameter` and `invalid-state` carry their own).
    pub fn default_desc(self) -> &'static str {
        match self {
            RetCode::Stopped => "班次停运",
            RetCode::NotEnoughSeats => "余票不足",
            RetCode::UnknownSchedule => "查询不到班次",
            RetCode::ScheduleMismatch => "班次信息有误,不能下单",
            RetCode::InvalidParameter => "参数错误",
            RetCode::OrderNotFound => "订单不存在",
            RetCode::InvalidState => "订单状态不允许此操作",
            RetCode::TimestampExpired => "请求已过期",
            RetCode::BodyTooLarge => "请求体过大",
            RetCode::SystemError => "系统繁忙,请重试",
        }
    }

    pub fn from_code(code: &str) -> Option<RetCode> {
        [
            RetCode::Stopped,
            RetCode::NotEnoughSeats,
            RetCode::UnknownSchedule,
            RetCode::ScheduleMismatch,
            RetCode::InvalidParameter,
            RetCode::OrderNotFound,
            RetCode::InvalidState,
            RetCode::TimestampExpired,
            RetCode::BodyTooLarge,
            RetCode::SystemError,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// A refusal: a code and its `retDesc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: RetCode,
    pub desc: String,
}

impl Failure {
    pub fn new(code: RetCode, desc: impl Into<String>) -> Self {
        Failure { code, desc: desc.into() }
    }
    /// The code with its standard text.
    pub fn plain(code: RetCode) -> Self {
        Failure::new(code, code.default_desc())
    }
    /// `1401` with a detail: `班次信息有误,不能下单: <detail>` (§8.1).
    pub fn mismatch(detail: &str) -> Self {
        Failure::new(RetCode::ScheduleMismatch, format!("{}: {detail}", RetCode::ScheduleMismatch.default_desc()))
    }
    pub fn invalid(e: impl std::fmt::Display) -> Self {
        Failure::new(RetCode::InvalidParameter, e.to_string())
    }
}

/// A seat query refusal (§3.4): `1114`, `1401` with its detail, or `system-error` (the
/// store's detail is for the caller to log, never sent).
pub fn seats_failure(e: &busgate_domain::catalogue::SeatsError) -> Failure {
    use busgate_domain::catalogue::SeatsError;
    match e {
        SeatsError::UnknownSchedule => Failure::plain(RetCode::UnknownSchedule),
        SeatsError::Segment(problem) => Failure::mismatch(&crate::catalogue::segment_text(problem)),
        SeatsError::Store(_) => Failure::plain(RetCode::SystemError),
    }
}

impl From<crate::json::FieldError> for Failure {
    fn from(e: crate::json::FieldError) -> Self {
        Failure::invalid(e)
    }
}

/// The data of a success: a JSON object's text whose members become the answer's data
/// fields. Views derive `Serialize` ([`Data::of`]); a catalogue list is assembled from elements
/// rendered once per record ([`Data::rendered`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Data(String);

impl Data {
    /// A view's members (`None` fields are left out by the view's serde attributes).
    pub fn of<T: serde::Serialize>(view: &T) -> Data {
        Data(serde_json::to_string(view).expect("views render"))
    }

    /// A JSON object's text, already rendered.
    pub fn rendered(object: String) -> Data {
        Data(object)
    }

    /// The data fields as values (for tests and tools).
    pub fn into_fields(self) -> Map<String, Value> {
        serde_json::from_str(&self.0).expect("rendered data is a JSON object")
    }
}

const SUCCESS_HEAD: &str = r#"{"retCode":"0","retDesc":"成功","success":true"#;

/// Renders a success: `retCode "0"`, `retDesc 成功`, `success true`, then the data fields.
pub fn success(data: &Data) -> Vec<u8> {
    let members = data.0.trim().strip_prefix('{').and_then(|o| o.strip_suffix('}')).unwrap_or_default().trim();
    let mut out = Vec::with_capacity(SUCCESS_HEAD.len() + members.len() + 2);
    out.extend_from_slice(SUCCESS_HEAD.as_bytes());
    if !members.is_empty() {
        out.push(b',');
        out.extend_from_slice(members.as_bytes());
    }
    out.push(b'}');
    out
}

/// Renders a failure (never with data fields).
pub fn failure(f: &Failure) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"retCode": f.code.code(), "retDesc": f.desc, "success": false})).expect("JSON renders")
}

/// Either of the above.
pub fn render(result: &Result<Data, Failure>) -> Vec<u8> {
    match result {
        Ok(data) => success(data),
        Err(f) => failure(f),
    }
}
