//! Fenbeitong (分贝通) refund/rebook approval notices (partners.md §2, "Busgate decisions").
//!
//! Fenbeitong POSTs an unsigned JSON notice to `POST /fenbeitong/notify/{token}`;
//! `busgate_wire::fenbeitong` reads it (strict intake) and answers; here it is stored once,
//! listed, shown and decided. The operator's decision goes back as a signed Fenbeitong API
//! call through the outbox.
//!
//! * [`Tokens`]: `BUSGATE_FENBEITONG_TOKENS`, constant-time lookup.
//! * [`intake`], [`list`], [`show`], [`decide`]: the service over the [`crate::store::Store`].
//! * A decision is committed as `Destination::FenbeitongDecision`; its call (§2.5) is
//!   `busgate_wire::fenbeitong::decision_call`'s, its signature `busgate_signing::fenbeitong`'s.

mod error;
mod model;
mod service;
mod tokens;

pub use error::{IntakeOutcome, NoticeError};
pub use model::{Apply, ApplyType, Category, CostAttribution, Notice, Order, OrderDetails, OrderType, Proposer, User};
pub use service::{
    decide, intake, list, notice_key, notice_pk, raw_key, show, DecideError, Decision, FnOrderLookup, NoOrderLookup, NoticeRecord, NoticeStatus,
    NoticeView, OrderLink, OrderLookup, MAX_COMMENT_CHARS, MAX_OPERATOR_CHARS, NOTICES_INDEX_PK,
};
pub use tokens::{Tokens, TokensError, DEFAULT_COMPANY, MAX_COMPANY_CHARS, MAX_TOKEN_CHARS, MIN_TOKEN_CHARS};
