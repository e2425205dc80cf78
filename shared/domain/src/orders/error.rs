//! Why an order operation did not succeed, and what an operation answers.

use crate::store::StoreError;

use super::model::{Order, OrderStatus, Refund, RefusalCode};
use super::reason::Reason;

/// A refusal or failure of an order operation, in the business's terms; `busgate_wire`
/// gives each its partner code and words. The `Display` text is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// No such order (a refused create included), or a different Busgate order id.
    #[error("no such order")]
    NotFound,
    /// The order's state forbids the operation, and why.
    #[error("not allowed in this state: {0}")]
    InvalidState(Reason),
    /// An issue decision on an order that is not waiting for one.
    #[error("the order is not waiting for an issue decision (it is {0:?})")]
    NotIssuing(OrderStatus),
    /// A partial refund asked on a line that refunds whole orders only.
    #[error("this line refunds whole orders only")]
    WholeOrderOnly,
    /// A request field is wrong: `<path>: <problem>`.
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    /// The sale is refused for a business reason: the code's own words, or with a detail.
    #[error("refused ({code:?}){}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused { code: RefusalCode, detail: Option<Reason> },
    /// Contention that did not settle, or a twin still in flight.
    #[error("busy: {0}")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OrderError {
    pub fn invalid(path: impl Into<String>, problem: impl Into<String>) -> Self {
        OrderError::Invalid { path: path.into(), problem: problem.into() }
    }
    pub fn state(reason: Reason) -> Self {
        OrderError::InvalidState(reason)
    }
    pub fn refused(code: RefusalCode, detail: Option<Reason>) -> Self {
        OrderError::Refused { code, detail }
    }
}

/// What an interface call produced: its answer (a typed outcome or a refusal) and the
/// callbacks committed on the way (e.g. an async issue failed by its deadline), which the
/// caller hands to the delivery queue whatever the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    pub result: Result<T, OrderError>,
    pub callback_ids: Vec<String>,
}

impl<T> Reply<T> {
    /// Runs a call that records in its argument the callbacks it commits, and pairs its
    /// answer with them (a refusal may follow a committed lazy expiry).
    pub(crate) async fn gather(call: impl AsyncFnOnce(&mut Vec<String>) -> Result<T, OrderError>) -> Reply<T> {
        let mut callback_ids = Vec::new();
        let result = call(&mut callback_ids).await;
        Reply { result, callback_ids }
    }
}

/// An order as the order query reads it: the order after lazy expiry, with its departure's
/// current start time (GMT+8 text; the departure may have moved since the sale).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderAt {
    pub order: Order,
    pub start_time: String,
}

/// The refund price of one ticket as of the query (refund fee, §3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFee {
    /// Index into the order's passengers.
    pub passenger: usize,
    /// Fen kept by the operator.
    pub surcharge: i64,
    /// Fen paid back.
    pub amount: i64,
    pub refundable: bool,
    /// Why not refundable (the refund rule, or the ticket's state).
    pub reason: Option<Reason>,
}

/// The refund fee of every ticket of an issued order.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundFee {
    pub order: Order,
    /// The line refunds whole orders only.
    pub whole_order: bool,
    pub tickets: Vec<TicketFee>,
}

/// A refund accepted (or the same refund asked again), with the order after it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundAccepted {
    pub order: Order,
    pub refund: Refund,
}
