//! The order record and its pure rules.
//!
//! The enums below are stored spelled as the §5 codes, the spelling every record written so
//! far has; what they mean to a partner (codes, texts) is `busgate_wire::orders`, whose tests
//! check that the two spellings agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::reason::Reason;

/// Order status (§5.1), serialised as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// `1` 等待付款, seats locked.
    #[serde(rename = "1")]
    Locked,
    /// `2` 出票中 (async issue pending).
    #[serde(rename = "2")]
    Issuing,
    /// `3` 出票成功.
    #[serde(rename = "3")]
    Issued,
    /// `4` 订单关闭: the issue failed (stopped, async failure, deadline).
    #[serde(rename = "4")]
    Closed,
    /// `5` 订单取消: closed unpaid, or lock expired.
    #[serde(rename = "5")]
    Cancelled,
    /// `9` 退票中: some ticket is `4`.
    #[serde(rename = "9")]
    Refunding,
    /// `11` 退票成功: every ticket is `5`.
    #[serde(rename = "11")]
    Refunded,
}

impl OrderStatus {
    /// Whether tickets were issued (3, 9, 11): refunds and the fee query are allowed.
    pub fn is_issued(self) -> bool {
        matches!(self, OrderStatus::Issued | OrderStatus::Refunding | OrderStatus::Refunded)
    }
}

/// Ticket status (§5.2), serialised as its code. `-1` is never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TicketStatus {
    /// `1` 出票中.
    #[serde(rename = "1")]
    Pending,
    /// `2` 已出票.
    #[serde(rename = "2")]
    Issued,
    /// `3` 无票.
    #[serde(rename = "3")]
    NoTicket,
    /// `4` 退票中.
    #[serde(rename = "4")]
    Refunding,
    /// `5` 已退票.
    #[serde(rename = "5")]
    Refunded,
    /// `6` 退票失败 (still valid, can be refunded again).
    #[serde(rename = "6")]
    RefundFailed,
}

impl TicketStatus {
    /// Issued means 2, 4, 5 or 6 (§2.8 ¹): the ticket carries its codes.
    pub fn is_issued(self) -> bool {
        matches!(self, TicketStatus::Issued | TicketStatus::Refunding | TicketStatus::Refunded | TicketStatus::RefundFailed)
    }
    /// Valid and refundable by state: 2 or 6.
    pub fn is_valid(self) -> bool {
        matches!(self, TicketStatus::Issued | TicketStatus::RefundFailed)
    }
}

/// Passenger type (§5.4: family A, `0` adult, `1` child).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PassengerType {
    #[serde(rename = "0")]
    Adult,
    #[serde(rename = "1")]
    Child,
}

/// Certificate types (§5.3): SPI codes `1`–`4`, TOP codes `01`–`04`.
pub struct CertType;

impl CertType {
    pub const ID_CARD: &'static str = "1";
    /// Whether `code` is a known SPI code.
    pub fn is_known(code: &str) -> bool {
        matches!(code, "1" | "2" | "3" | "4")
    }
    /// The TOP code: `"0"` + the SPI code.
    pub fn top_code(code: &str) -> String {
        format!("0{code}")
    }
    /// Checks a certificate number's format: type 1 `^[0-9]{17}[0-9Xx]$` (format only); others
    /// 1–32 printable ASCII without spaces. Returns the normalised number (ID letters upper
    /// case) or the problem.
    pub fn normalise_number(code: &str, number: &str) -> Result<String, &'static str> {
        let n = number.trim();
        if code == Self::ID_CARD {
            let b = n.as_bytes();
            let ok = b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x');
            if !ok {
                return Err("must be 17 digits and a digit or X");
            }
            Ok(n.to_ascii_uppercase())
        } else {
            if n.is_empty() || n.len() > 32 || !n.bytes().all(|c| c.is_ascii_graphic()) {
                return Err("must be 1-32 printable ASCII characters without spaces");
            }
            Ok(n.to_string())
        }
    }
}

/// Why a sale is refused (stopped, not enough seats, no such departure, details that do not
/// match): the cause of a stored create refusal or of a failed issue (§2.4, §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefusalCode {
    /// `1102` 班次停运.
    #[serde(rename = "1102")]
    Stopped,
    /// `1104` 余票不足.
    #[serde(rename = "1104")]
    NotEnoughSeats,
    /// `1114` 查询不到班次.
    #[serde(rename = "1114")]
    UnknownSchedule,
    /// `1401` 班次信息有误,不能下单.
    #[serde(rename = "1401")]
    Mismatch,
}

/// Force-majeure reason of an operator refund (`refund_scene_official_reason_code`, §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForceReason {
    /// `0` the departure was stopped.
    Stopped,
    /// `1` weather.
    Weather,
    /// `2` epidemic.
    Epidemic,
}

impl ForceReason {
    /// `stopped`, `weather` or `epidemic`, as the operator types it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "stopped" => Some(ForceReason::Stopped),
            "weather" => Some(ForceReason::Weather),
            "epidemic" => Some(ForceReason::Epidemic),
            _ => None,
        }
    }
}

/// One ticket (one per passenger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// `<agentOrderId>-<passengerId>`; also `ticketNo` once issued.
    pub ticket_id: String,
    pub status: TicketStatus,
    /// Fare of this passenger type and segment, fen.
    pub price: i64,
    /// Per-ticket QR payload (RFC 4648 base32, no padding), once issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_ticket_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_no: Option<String>,
    /// Fee and money back of the refund that set `4`/`5` (fen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_surcharge: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<i64>,
    /// The refund (`RF…`) or money refund (`MR…`) that set `4`/`5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Money already refunded on this ticket, every channel included (§8.5), fen.
    #[serde(default)]
    pub refunded: i64,
}

impl Ticket {
    /// Money that may still be paid back on this ticket: the price less what was refunded and
    /// what a pending async refund would pay (§8.5).
    pub fn refundable_money(&self) -> i64 {
        let pending = if self.status == TicketStatus::Refunding { self.refund_amount.unwrap_or(0) } else { 0 };
        (self.price - self.refunded - pending).max(0)
    }
}

/// A passenger and their ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Passenger {
    /// 1-based position in the create list, as digits.
    pub passenger_id: String,
    pub name: String,
    pub passenger_type: PassengerType,
    /// SPI code (§5.3).
    pub cert_type: String,
    pub cert_no: String,
    pub ticket: Ticket,
}

/// A custom pick-up or drop-off point (area stations), as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub address: String,
    pub longitude: String,
    pub latitude: String,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Async, waiting for the decision (tickets `4`).
    Pending,
    /// Tickets `5`.
    Succeeded,
    /// Async decided as a failure (tickets `6`); the ticket set may be refunded again.
    Failed,
}

/// One ticket of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLine {
    pub ticket_id: String,
    pub passenger_id: String,
    pub surcharge: i64,
    pub amount: i64,
}

/// A refund accepted by refunds/apply (§3.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// `RF…`.
    pub refund_id: String,
    pub created_at: DateTime<Utc>,
    /// Decided later by [`super::decide_refund`].
    pub asynchronous: bool,
    /// Accepted on an `isOrderRefund` line (one callback per order).
    pub whole_order: bool,
    pub state: RefundState,
    /// In passenger order.
    pub lines: Vec<RefundLine>,
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The operator's words when it was rejected (none: wire's default words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
}

impl Refund {
    /// The ticket set (sorted ids): the idempotency key with the order (§3.9 step 5).
    pub fn ticket_set(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lines.iter().map(|l| l.ticket_id.clone()).collect();
        v.sort();
        v
    }
}

/// What kind of operator money refund (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyRefundKind {
    /// Compensation or partial refund: no ticket changes.
    Compensation,
    /// Counter (offline) refund: tickets `5`.
    Counter,
    /// Forced refund (stopped departure, weather, epidemic): tickets `5`.
    Forced,
}

/// An operator money refund, sent as `multiple.refund.confirm` (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyRefund {
    /// `agent_refund_trans_no` (`MR…`), unique.
    pub serial: String,
    pub at: DateTime<Utc>,
    pub kind: MoneyRefundKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<ForceReason>,
    /// The operator's words (`agent_refund_reason`); empty: wire's words for the kind or
    /// the force-majeure reason.
    #[serde(default)]
    pub reason: String,
    /// (ticketId, fen) in passenger order.
    pub lines: Vec<(String, i64)>,
    pub total: i64,
    /// The callback carrying it (none when nothing was paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
}

/// An order (status `1` onwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub alitrip_order_id: String,
    /// `BG` + yyMMdd (GMT+8) + 8-digit sequence.
    pub agent_order_id: String,
    /// SHA-256 hex of the create fingerprint (§2.7, §8.2).
    pub fingerprint: String,
    pub status: OrderStatus,
    pub schedule_id: String,
    pub line_id: String,
    /// The segment after defaults.
    pub from_station_code: String,
    pub to_station_code: String,
    /// D when the order was created (the current D is read from the departure).
    pub departure_at: DateTime<Utc>,
    pub order_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_departure: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_destination: Option<Address>,
    /// Stored, unchecked request fields (`alipayTradeNo`, `goodsId`, city/station names,
    /// contact), by their wire names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    /// min(created + hold, D) (§8.10).
    pub lock_expire_at: DateTime<Utc>,
    /// When confirm was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Async issue deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_deadline: Option<DateTime<Utc>>,
    /// `agentIssueTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    /// When it became 4 or 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book_fail_code: Option<RefusalCode>,
    /// Why the issue failed (`bookFaildMsg`), beside its code; orders written before reasons
    /// were typed hold the text under `bookFailMsg`.
    #[serde(default, alias = "bookFailMsg", deserialize_with = "super::reason::stored", skip_serializing_if = "Option::is_none")]
    pub book_fail: Option<Reason>,
    /// Boarding code: 6 digits, one per order, set at issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_pwd: Option<String>,
    /// Snapshots of the line at issue (§3.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_ticket_spot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_wicket: Option<String>,
    /// The driver's phone, for the passengers' SMS (snapshot of the line at issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_contact_phone: Option<String>,
    /// The SMS text as rendered at issue by orders issued before the phone was kept instead
    /// (read, never written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_content: Option<String>,
    pub passengers: Vec<Passenger>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub money_refunds: Vec<MoneyRefund>,
}

impl Order {
    /// After issue, the status follows the tickets (§1.3): `9` if any is `4`, else `11` if all
    /// are `5`, else `3`.
    pub fn derived_status(&self) -> OrderStatus {
        if self.passengers.iter().any(|p| p.ticket.status == TicketStatus::Refunding) {
            OrderStatus::Refunding
        } else if self.passengers.iter().all(|p| p.ticket.status == TicketStatus::Refunded) {
            OrderStatus::Refunded
        } else {
            OrderStatus::Issued
        }
    }

    pub fn ticket_count(&self) -> usize {
        self.passengers.len()
    }

    pub fn passenger_by_ticket(&self, ticket_id: &str) -> Option<&Passenger> {
        self.passengers.iter().find(|p| p.ticket.ticket_id == ticket_id)
    }

    pub fn passenger_by_ticket_mut(&mut self, ticket_id: &str) -> Option<&mut Passenger> {
        self.passengers.iter_mut().find(|p| p.ticket.ticket_id == ticket_id)
    }

    pub fn refund(&self, refund_id: &str) -> Option<&Refund> {
        self.refunds.iter().find(|r| r.refund_id == refund_id)
    }

    /// Sets every ticket to `3` (issue failed, close, expiry).
    pub(crate) fn void_tickets(&mut self) {
        for p in &mut self.passengers {
            p.ticket.status = TicketStatus::NoTicket;
        }
    }

    /// Whether every ticket has a seat number.
    pub fn all_seated(&self) -> bool {
        !self.passengers.is_empty() && self.passengers.iter().all(|p| p.ticket.seat_no.is_some())
    }
}

/// A create refused with `1102`/`1104`/`1114`/`1401`: stored under the `alitripOrderId`, so a
/// same-fingerprint retry gets the same answer; it locks nothing and is no order
/// (query answers `order-not-found`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusedCreate {
    pub alitrip_order_id: String,
    pub fingerprint: String,
    pub code: RefusalCode,
    /// What did not match (a `1401`); records written before reasons were typed hold the
    /// full text under `desc`.
    #[serde(default, alias = "desc", deserialize_with = "super::reason::stored", skip_serializing_if = "Option::is_none")]
    pub detail: Option<Reason>,
    pub schedule_id: String,
    pub at: DateTime<Utc>,
}
