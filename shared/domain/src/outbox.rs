//! The outbox: every call Busgate owes a partner is written as a [`Callback`] record in the
//! same transaction as the state change that causes it, then handed to the delivery queue.
//! A worker sends it (signing it afresh each attempt), classifies the answer, and records the
//! outcome. A crash between commit and hand-off loses nothing: the sweeper re-queues pending
//! callbacks that nobody picked up.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Condition, Item, Key, Write};

/// Where a callback goes and what it carries, fixed at commit time, so every retry resends the
/// same business content (fliggy-bus.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Destination {
    /// A TOP API call: `method` and its business parameters (each a string, complex ones a
    /// JSON string). System parameters and the signature are added when sending.
    Top { method: String, params: Vec<(String, String)> },
    /// A Fenbeitong API call as committed before decisions were typed (partners.md §2.5): the
    /// `data` JSON text, signed when sending.
    Fenbeitong { company: String, data: String },
    /// The operator's decision on a Fenbeitong notice of `company` (partners.md §2.5),
    /// rendered as Fenbeitong's call when sent (`busgate_wire::fenbeitong::decision_call`).
    FenbeitongDecision { company: String, apply_id: String, approve: bool, comment: String },
    /// A callback of Fliggy's bus platform in the business's terms, rendered as its TOP call
    /// when sent (`busgate_wire::callbacks`). Callbacks committed before it existed are `Top`.
    Bus { callback: BusCallback },
    /// An action on a collaboration case for Fliggy (partners.md §1.4), rendered as its TOP
    /// call when sent (`busgate_wire::relation`). Actions committed before it existed are `Top`.
    Case { request: crate::cases::RelationRequest },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Waiting for (another) attempt.
    Pending,
    /// The partner accepted it; never sent again.
    Delivered,
    /// Permanently refused or out of attempts; in the dead-letter queue until replayed.
    Dead,
}

/// A call owed to a partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// Unique id; also the idempotency key on our side (`CB…`).
    pub id: String,
    pub destination: Destination,
    /// What caused it, for the operator (`order 900000000001`, `case 123`, …).
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub status: CallbackStatus,
    pub attempts: u32,
    /// The last answer or error, for `busgate outbox list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (backoff); the sweeper re-queues a pending callback that
    /// is long overdue, which covers a hand-off lost between commit and queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

impl Callback {
    pub fn new(id: impl Into<String>, destination: Destination, subject: impl Into<String>, now: DateTime<Utc>) -> Self {
        Callback {
            id: id.into(),
            destination,
            subject: subject.into(),
            created_at: now,
            status: CallbackStatus::Pending,
            attempts: 0,
            last_error: None,
            delivered_at: None,
            due_at: Some(now),
        }
    }

    /// A TOP call with one business parameter holding a JSON string (the shape of every bus
    /// callback).
    pub fn top(id: impl Into<String>, method: &str, param_name: &str, json: String, subject: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self::new(id, Destination::Top { method: method.to_string(), params: vec![(param_name.to_string(), json)] }, subject, now)
    }

    pub fn key(id: &str) -> Key {
        Key::new(format!("CB#{id}"), "CB")
    }

    /// Index partition listing callbacks by status, oldest first.
    pub fn index_pk(status: CallbackStatus) -> &'static str {
        match status {
            CallbackStatus::Pending => "CB#pending",
            CallbackStatus::Delivered => "CB#delivered",
            CallbackStatus::Dead => "CB#dead",
        }
    }

    /// The record at `version`.
    pub fn to_item(&self, version: u64) -> Item {
        Item::new(Self::key(&self.id), serde_json::to_string(self).expect("callback serialises"))
            .with_version(version)
            .with_index(Self::index_pk(self.status), format!("{}#{}", self.created_at.to_rfc3339(), self.id))
    }

    /// The write that records a new callback; put it in the transaction of the state change.
    pub fn insert(&self) -> Write {
        Write::Put { item: self.to_item(1), condition: Condition::Absent }
    }
}

/// A callback owed to Fliggy's bus platform, in the business's terms (what changed or was
/// decided, with what it tells of the order as it stood then); `busgate_wire::callbacks`
/// renders its TOP call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusCallback {
    /// Departures from `from_city` to `to_city` (city names) on `date` changed: Fliggy should
    /// read them again (§4.5, `taobao.bus.item.notify`).
    DeparturesChanged { from_city: String, to_city: String, date: chrono::NaiveDate },
    /// The tickets of an order that left `2` were issued (`success`), or could not be (§4.2).
    Issue { order: Box<crate::orders::Order>, success: bool },
    /// An async refund was decided (§4.3): one callback per refunded ticket (`ticket`), or
    /// one for the order on a whole-order refund. `amount` is the fen refunded (the ticket's,
    /// or the order's total); `depart` is D; `reason` says why a refusal. Only what the
    /// callback says is kept: a large order refunded ticket by ticket owes many of these.
    RefundDecided(RefundDecision),
    /// The operator paid money back on the order (§4.4).
    MoneyRefund { order: Box<crate::orders::Order>, refund: crate::orders::MoneyRefund },
}

/// A decided async refund as its callback tells it (see [`BusCallback::RefundDecided`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundDecision {
    pub alitrip_order_id: String,
    pub agent_order_id: String,
    pub refund_id: String,
    pub whole_order: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<RefundedTicket>,
    pub amount: i64,
    pub success: bool,
    /// The operator's words on a rejection (none: wire's default words; callbacks queued
    /// before hold the words then chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub depart: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
}

/// The ticket a per-ticket refund callback is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundedTicket {
    pub ticket_id: String,
    pub passenger_id: String,
    pub passenger_name: String,
    pub cert_no: String,
}

/// What the delivery queue carries: one type for every message. Each kind is told by its one
/// field, so the JSON stays `{"callback_id":…}`, `{"issue_order":…}` or `{"approve_refund":…}`
/// and messages already queued (or in the dead-letter queue) keep their meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueueMessage {
    /// Deliver this callback (the record holds the payload and its state).
    Deliver { callback_id: String },
    /// Issue the tickets of an order confirmed in async mode (the automatic issue job of
    /// fliggy-bus.md §3.7).
    Issue { issue_order: String },
    /// Approve an async refund automatically (`BUSGATE_AUTO_REFUND`).
    ApproveRefund { approve_refund: String },
}

impl QueueMessage {
    /// The message body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("queue messages serialise")
    }

    /// Reads a message body; `None` for anything that is not one of ours.
    pub fn parse(body: &str) -> Option<QueueMessage> {
        serde_json::from_str(body).ok()
    }
}

/// A fresh callback id: time-ordered, unique.
pub fn new_callback_id(now: DateTime<Utc>) -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("CB{}{:016X}", now.format("%Y%m%d%H%M%S"), n)
}

/// What one delivery attempt came to, as the partner's client classified the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: never send it again.
    Delivered,
    /// A transient failure: try again, not before `wait_secs` if the platform said so.
    Retry { reason: String, wait_secs: Option<u32> },
    /// Refused for good: to the dead-letter queue with the reason (and the raw answer).
    Permanent { reason: String },
}

/// One request sent to a partner: how it went and, when the partner answered, its raw answer
/// (the relation API's answer says how the case moved on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: Outcome,
    pub answer: Option<String>,
}

/// The port to Busgate's partners: send a callback's request once, signed afresh, and classify
/// the answer. The HTTP clients of Fliggy's TOP and Fenbeitong's open API implement it
/// (`busgate_adapters::partners`); the outbox worker knows only this trait.
#[async_trait::async_trait]
pub trait Partners: Send + Sync {
    async fn send(&self, destination: &Destination, now: DateTime<Utc>) -> Sent;
}

/// What to do with the queue message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it (delivered, or nothing left to do).
    Done,
    /// Make it visible again after this many seconds.
    RetryAfter(u32),
    /// Move it to the dead-letter queue with this reason.
    Dead(String),
}

/// How often and how patiently a callback is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a transient failure makes the callback dead.
    pub max_attempts: u32,
    /// First backoff, doubled per attempt (see [`backoff_secs`]).
    pub backoff_base_secs: u32,
}

/// Longest wait a platform's own "retry after" may impose (TOP bans, qimen-top.md).
pub const MAX_RETRY_WAIT_SECS: u32 = 900;

/// Backoff after `attempts` failed attempts: `base` (10 s) doubling, capped at 10 min (§4.1).
pub fn backoff_secs(base: u32, attempts: u32) -> u32 {
    let exp = attempts.saturating_sub(1).min(10);
    base.saturating_mul(1 << exp).min(600)
}

impl Callback {
    /// The callback's state machine: one attempt's outcome recorded (pending → delivered;
    /// pending → pending with a backoff while attempts remain; pending → dead), and what the
    /// queue should do with its message.
    pub fn record_attempt(&mut self, outcome: Outcome, now: DateTime<Utc>, policy: RetryPolicy) -> Disposition {
        self.attempts += 1;
        match outcome {
            Outcome::Delivered => {
                self.status = CallbackStatus::Delivered;
                self.delivered_at = Some(now);
                self.last_error = None;
                Disposition::Done
            }
            Outcome::Retry { reason, wait_secs } if self.attempts < policy.max_attempts => {
                let wait = wait_secs.unwrap_or(0).max(backoff_secs(policy.backoff_base_secs, self.attempts)).min(MAX_RETRY_WAIT_SECS);
                self.due_at = Some(now + chrono::Duration::seconds(i64::from(wait)));
                self.last_error = Some(reason);
                Disposition::RetryAfter(wait)
            }
            Outcome::Retry { reason, .. } => {
                let reason = format!("gave up after {} attempts: {reason}", self.attempts);
                self.status = CallbackStatus::Dead;
                self.last_error = Some(reason.clone());
                Disposition::Dead(reason)
            }
            Outcome::Permanent { reason } => {
                self.status = CallbackStatus::Dead;
                self.last_error = Some(reason.clone());
                Disposition::Dead(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Callback {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00+08:00").unwrap().with_timezone(&Utc);
        Callback::new("CB1", Destination::Top { method: "partner.method".into(), params: Vec::new() }, "test", now)
    }

    const POLICY: RetryPolicy = RetryPolicy { max_attempts: 3, backoff_base_secs: 10 };

    #[test]
    fn backoff_doubles_from_ten_seconds_and_caps_at_ten_minutes() {
        let waits: Vec<u32> = (1..=9).map(|a| backoff_secs(10, a)).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(backoff_secs(10, 40), 600);
        assert_eq!(backoff_secs(0, 5), 0);
    }

    #[test]
    fn a_transient_failure_backs_off_until_the_last_attempt_makes_the_callback_dead() {
        let mut cb = pending();
        let at = cb.created_at;
        let retry = || Outcome::Retry { reason: "HTTP 502".into(), wait_secs: None };
        assert_eq!(cb.record_attempt(retry(), at, POLICY), Disposition::RetryAfter(10));
        assert_eq!((cb.status, cb.due_at), (CallbackStatus::Pending, Some(at + chrono::Duration::seconds(10))));
        assert_eq!(cb.record_attempt(retry(), at, POLICY), Disposition::RetryAfter(20));
        assert_eq!(cb.record_attempt(retry(), at, POLICY), Disposition::Dead("gave up after 3 attempts: HTTP 502".into()));
        assert_eq!((cb.status, cb.attempts), (CallbackStatus::Dead, 3));
    }

    #[test]
    fn a_platform_wait_is_honoured_up_to_its_cap_and_delivery_clears_the_error() {
        let mut cb = pending();
        let at = cb.created_at;
        assert_eq!(cb.record_attempt(Outcome::Retry { reason: "ban".into(), wait_secs: Some(5000) }, at, POLICY), Disposition::RetryAfter(900));
        assert_eq!(cb.record_attempt(Outcome::Delivered, at, POLICY), Disposition::Done);
        assert_eq!((cb.status, cb.delivered_at, cb.last_error), (CallbackStatus::Delivered, Some(at), None));
    }

    #[test]
    fn a_permanent_refusal_is_dead_at_once_with_its_reason() {
        let mut cb = pending();
        let d = cb.record_attempt(Outcome::Permanent { reason: "isv.invalid".into() }, cb.created_at, POLICY);
        assert_eq!(d, Disposition::Dead("isv.invalid".into()));
        assert_eq!((cb.status, cb.attempts, cb.last_error.as_deref()), (CallbackStatus::Dead, 1, Some("isv.invalid")));
    }

    #[test]
    fn queue_messages_keep_their_json_and_are_told_apart_by_their_field() {
        for (m, json) in [
            (QueueMessage::Deliver { callback_id: "CB1".into() }, r#"{"callback_id":"CB1"}"#),
            (QueueMessage::Issue { issue_order: "9001".into() }, r#"{"issue_order":"9001"}"#),
            (QueueMessage::ApproveRefund { approve_refund: "RF1".into() }, r#"{"approve_refund":"RF1"}"#),
        ] {
            assert_eq!(m.body(), json);
            assert_eq!(QueueMessage::parse(json), Some(m));
        }
        // The dead-letter shape of earlier versions still reads as its callback.
        assert_eq!(QueueMessage::parse(r#"{"callback_id":"CB2","reason":"x"}"#), Some(QueueMessage::Deliver { callback_id: "CB2".into() }));
        assert_eq!(QueueMessage::parse(r#"{"something":"else"}"#), None);
        assert_eq!(QueueMessage::parse("not json"), None);
    }
}
