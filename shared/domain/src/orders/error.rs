//! Why an order operation did not succeed, and the reply shape of the interfaces.

use serde_json::{Map, Value};

use crate::store::StoreError;

use super::model::RefusalCode;

/// A refusal or failure of an order operation. The edge maps each to its §2.4 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// `order-not-found`: no such `alitripOrderId` (a refused create included), or a
    /// different `agentOrderId`.
    #[error("订单不存在")]
    NotFound,
    /// `invalid-state` with its reason (e.g. `订单已取消`).
    #[error("{0}")]
    InvalidState(String),
    /// `invalid-parameter`: `<path>: <problem>`.
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    /// `1102`/`1104`/`1114`/`1401` with the full `retDesc`.
    #[error("{desc}")]
    Refused { code: RefusalCode, desc: String },
    /// `system-error`: contention that did not settle, or a twin still in flight.
    #[error("busy: {0}")]
    Busy(String),
    /// `system-error`: the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OrderError {
    pub fn invalid(path: impl Into<String>, problem: impl Into<String>) -> Self {
        OrderError::Invalid { path: path.into(), problem: problem.into() }
    }
    pub fn state(text: impl Into<String>) -> Self {
        OrderError::InvalidState(text.into())
    }
    pub fn refused(code: RefusalCode, desc: impl Into<String>) -> Self {
        OrderError::Refused { code, desc: desc.into() }
    }
    /// The `retCode` of §2.4.
    pub fn ret_code(&self) -> &'static str {
        match self {
            OrderError::NotFound => "order-not-found",
            OrderError::InvalidState(_) => "invalid-state",
            OrderError::Invalid { .. } => "invalid-parameter",
            OrderError::Refused { code, .. } => code.code(),
            OrderError::Busy(_) | OrderError::Store(_) => "system-error",
        }
    }
}

/// What an interface call produced: its answer (data fields or a refusal) and the callbacks
/// committed on the way (e.g. an async issue failed by its deadline), which the caller hands
/// to the delivery queue whatever the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub result: Result<Map<String, Value>, OrderError>,
    pub callback_ids: Vec<String>,
}

impl Reply {
    pub fn ok(data: Map<String, Value>, callback_ids: Vec<String>) -> Self {
        Reply { result: Ok(data), callback_ids }
    }
    pub fn err(e: OrderError, callback_ids: Vec<String>) -> Self {
        Reply { result: Err(e), callback_ids }
    }

    /// Runs a call that records in its argument the callbacks it commits, and pairs its
    /// answer with them (a refusal may follow a committed lazy expiry).
    pub(crate) async fn gather(call: impl AsyncFnOnce(&mut Vec<String>) -> Result<Map<String, Value>, OrderError>) -> Reply {
        let mut callback_ids = Vec::new();
        let result = call(&mut callback_ids).await;
        Reply { result, callback_ids }
    }
}
