//! Why a notice was refused, and what its intake did. `busgate_wire::fenbeitong` gives each
//! its answer to Fenbeitong.

/// Why a notice was refused. Every message starts with the JSON path it concerns (when there is
/// one) and shows the offending value, e.g. `orders[0].category: expected integer, got string "6"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// V1: unknown path token (or tenant).
    #[error("unauthorized callback URL")]
    Unauthorized,
    /// V2: not sent as UTF-8 JSON.
    #[error("{0}")]
    MediaType(String),
    /// V3: body larger than the intake accepts.
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize, size: usize },
    /// V4: not UTF-8, not JSON, not an object at the top, duplicate member names.
    #[error("{0}")]
    Malformed(String),
    /// V5/V8: a required field is absent, null or blank.
    #[error("{0}")]
    Missing(String),
    /// V6: wrong JSON type.
    #[error("{0}")]
    WrongType(String),
    /// V7: value outside its enumeration.
    #[error("{0}")]
    InvalidValue(String),
    /// V9/V13: bad format or out of limits.
    #[error("{0}")]
    Format(String),
    /// V10/V11/V12: fields inconsistent with each other.
    #[error("{0}")]
    Inconsistent(String),
    /// V14: the same `apply.id` was already received with different content.
    #[error("apply.id {apply_id} already received with different content")]
    Conflict { apply_id: String },
    /// V17: our own failure (store down); the detail is for our logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the notice endpoint accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored for the first time; an approval task is pending.
    Accepted { apply_id: String },
    /// The same notice (same canonical body, same company) was already stored; nothing done.
    Duplicate { apply_id: String },
}
