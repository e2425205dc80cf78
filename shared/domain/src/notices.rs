//! Fenbeitong (分贝通) refund/rebook approval notices (partners.md §2, "Busgate decisions").
//!
//! Fenbeitong POSTs an unsigned JSON notice to `POST /fenbeitong/notify/{token}`; the operator
//! approves or rejects it later, and the decision goes back as a signed Fenbeitong API call
//! through the outbox. The edge handler is a few lines:
//!
//! ```text
//! company = tokens.authorize(path_token)?            // 401 40100, nothing read
//! check_content_type(header)?; check_size(len)?      // 415 41500, 413 41300
//! result  = intake(store, company, body, now).await  // validate, store raw body once
//! respond(&result, request_id)                       // status + {"code":…,"msg":…}
//! ```
//!
//! * [`validate`]: pure, strict intake (V3–V16), every error naming the JSON path and value.
//! * [`NoticeError::status`] / [`NoticeError::code`] / [`respond`]: the one renderer.
//! * [`Tokens`]: `BUSGATE_FENBEITONG_TOKENS`, constant-time lookup.
//! * [`intake`], [`list`], [`show`], [`decide`]: the service over the [`crate::store::Store`].
//! * [`decision_data`], [`decision_path`]: the outbound call (§2.5); its signature is
//!   `busgate_signing::fenbeitong`'s.

mod error;
mod json;
mod model;
mod outbound;
mod service;
mod tokens;
mod validate;

pub use error::{check_content_type, check_size, respond, IntakeOutcome, NoticeError, Response, MAX_BODY_BYTES, RESPONSE_CONTENT_TYPE};
pub use json::MAX_DEPTH;
pub use model::{Apply, ApplyType, Category, CostAttribution, Notice, Order, OrderDetails, OrderType, Proposer, User};
pub use outbound::{decision_data, decision_path, APPROVE_PATH, REFUND_CHANGE_CATEGORY, REJECT_PATH};
pub use service::{
    decide, intake, intake_with, list, notice_key, notice_pk, raw_key, show, DecideError, Decision, FnOrderLookup, NoOrderLookup, NoticeRecord,
    NoticeStatus, NoticeView, OrderLink, OrderLookup, MAX_COMMENT_CHARS, MAX_OPERATOR_CHARS, NOTICES_INDEX_PK,
};
pub use tokens::{Tokens, TokensError, DEFAULT_COMPANY, MAX_COMPANY_CHARS, MAX_TOKEN_CHARS, MIN_TOKEN_CHARS};
pub use validate::{validate, validate_with, ValidateOptions, MAX_COST_ATTRIBUTIONS, MAX_ORDERS, MAX_STRING_CHARS, MAX_TEXT_CHARS, MAX_UNKNOWN_KEPT};
