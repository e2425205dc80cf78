//! Collaboration work orders (协同工单) between Fliggy's customer service and us
//! (partners.md §1 and the Busgate decisions at its top).
//!
//! * [`machine::transition`] is the case state machine of §1.5–§1.6 for both kinds of case
//!   and both directions.
//! * [`receive`] handles one inbound message (read by `busgate_wire::relation`, which also
//!   renders the answer) over the [`Store`](crate::store::Store) port. Replays inside the TTL
//!   get the stored answer (successes only are stored); a repeated start returns the same
//!   `relation_case_id`; a repeated end succeeds; urges are counted; in SENT_BACK a start for
//!   the same `case_id` reopens the case. Every refusal is a [`CaseError`] kind and changes
//!   nothing.
//! * Operator commands: [`list`], [`show`], [`send`], [`open`]. Outbound messages become
//!   outbox callbacks for `alitrip.serve.workorder.relation` (see [`outbound`] for what the
//!   sender must do, including filling `caller_info` from configuration); the state moves
//!   when Fliggy accepts them, through [`record_outcome`].
//! * Every accepted inbound message, every outbound message and every outcome is a history
//!   entry with its time and operator. Record layout: [`records`].

pub mod machine;
pub mod model;
pub mod operator;
pub mod outbound;
pub mod records;
pub mod service;

pub use model::{
    is_order_id, Action, ActionStatus, Actor, Attributes, Case, CaseDetail, CaseError, CaseState, CaseSummary, EntryKind, HistoryEntry,
    InboundMessage, Owner, RelationConfig, RelationType,
};
pub use operator::{list, open, record_outcome, send, show, sort_for_operator, OutcomeEffect, SendKind, SendReceipt};
pub use outbound::{action_of, ActionRef, OutboundOutcome, OutboundReply, RelationRequest};
pub use records::Accepted;
pub use service::{receive, replay_key};
