//! Orders and refunds (fliggy-bus.md §1.2, §1.3, §2.5, §2.7, §3.5–§3.9, §3.11, §4.2–§4.4, §8).
//!
//! * [`model`]: the order record (status §5.1, tickets §5.2, passengers, refunds, money
//!   refunds) and its pure rules (status derivation, money caps).
//! * [`create`]: create order / lock seats (§3.5), its fingerprint (§2.7, §8.2) and
//!   idempotency.
//! * [`lifecycle`]: query (§3.6), confirm (§3.7), close (§3.11), lazy expiry (§2.5), the
//!   sweeper's [`expire_due`] and the back office's async issue decision [`decide_issue`].
//! * [`refunds`]: refund fee (§3.8), refund apply (§3.9), the async refund decision
//!   [`decide_refund`], operator money refunds [`money_refund`], counter refunds
//!   [`offline_refund`] and [`refund_stopped_departure`] (§4.4, §8.5, §8.6).
//! * [`error`]: what the operations answer ([`Reply`] of a typed outcome) and refuse
//!   ([`OrderError`], with a typed [`Reason`] from [`reason`]); `busgate_wire::orders` renders
//!   both for Fliggy, its words included.
//! * [`callbacks`]: the TOP payloads of §4.2–§4.4 and the fen-to-yuan rule of §4.1.
//!
//! Every state change is decided from records read, then committed in one conditional
//! transaction (the order at the version read, the departure unchanged, seat counters moved
//! atomically, callbacks in the outbox). A transaction that loses a race is decided again on
//! fresh reads, a bounded number of times.
//!
//! # Store layout
//!
//! | Record | pk | sk | gsi1 pk | gsi1 sk |
//! |---|---|---|---|---|
//! | order (or a stored create refusal) | `ORD#<alitripOrderId>` | `ORD` | status 1: `ORDERS#LOCKED`; status 2: `ORDERS#ISSUING`; otherwise none | `<lockExpireTime or deadline, rfc3339 ms UTC>#<alitripOrderId>` |
//! | order of a departure | `DORD#<scheduleId>` | `<alitripOrderId>` | `ORDERS#DAY#<yyyy-MM-dd>` (creation day, GMT+8) | `<created rfc3339 ms UTC>#<alitripOrderId>` |
//! | refund pointer | `RF#<refundId>` | `RF` | while an async refund is pending: `REFUNDS#PENDING`; then `REFUNDS#DAY#<yyyy-MM-dd>` (accepted, GMT+8) | `<created>#<refundId>` |
//! | money refund serial | `MR#<serial>` | `MR` | – | – |
//! | Busgate order id claim | `AGENT#<agentOrderId>` | `AGENT` | – | – |
//!
//! The order record holds the whole order: passengers and tickets, its refunds, its money
//! refunds, so every change of an order is one conditional put
//! of one record. The `DORD#` partition lists the orders of a departure with a strongly
//! consistent query (refunding a stopped departure); its index lists orders by day for the
//! CLI.

pub mod callbacks;
pub mod create;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod reason;
pub mod records;
pub mod refunds;

pub use callbacks::fen_to_yuan;
pub use create::{create, CreateRequest, CustomAddress, PassengerInput};
pub use error::{OrderAt, OrderError, RefundAccepted, RefundFee, Reply, TicketFee};
pub use lifecycle::{close, confirm, decide_issue, expire_due, query, IssueDecision, IssueOutcome, SweepReport};
pub use model::{
    CertType, ForceReason, MoneyRefund, MoneyRefundKind, Order, OrderStatus, Passenger, PassengerType, Refund, RefundLine, RefundState, RefusalCode,
    Ticket, TicketStatus,
};
pub use reason::{Mismatch, Reason};
pub use records::{
    alitrip_id_of, get_order, list_issuing, list_locked, list_pending_refunds, list_refunds_created_on, orders_created_on, orders_of_departure,
    OrderRecord, RefundPointer, Settings,
};
pub use refunds::{
    apply_refund, approve_overdue_refunds, decide_refund, fee, money_refund, offline_refund, refund_stopped_departure, MoneyRefundOutcome,
    OverdueRefunds, RefundApplyRequest, RefundDecision, RefundEntry, StoppedRefundReport,
};
