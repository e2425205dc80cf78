//! Query (§3.6), confirm (§3.7), close (§3.11), lazy expiry (§2.5), the sweeper and the async
//! issue decision of the back office.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use crate::catalogue::{departure_key, load_departure_record, seats_key, Departure, LoadedDeparture};
use crate::store::{Condition, Store, StoreError, Write};

use super::callbacks;
use super::error::{OrderAt, OrderError, Reply};
use super::model::{Order, OrderStatus, RefusalCode, TicketStatus};
use super::reason::Reason;
use super::records::{self, commit, load_record, update_order, wire_time, OrderRecord, Settings, MAX_ATTEMPTS};

/// A fresh e-ticket number: 80 random bits, RFC 4648 base32 (`A-Z2-7`), no padding.
pub fn new_e_ticket_no() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill(&mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes)
}

/// A fresh boarding code: 6 random digits.
pub fn new_boarding_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// The write giving an order's seats back to its departure.
pub(crate) fn release_seats(order: &Order) -> Write {
    Write::Count { key: seats_key(&order.schedule_id), delta: order.passengers.len() as i64, floor: None }
}

/// The write checking that a departure is still as read.
pub(crate) fn departure_unchanged(loaded: &LoadedDeparture) -> Write {
    Write::Check { key: departure_key(&loaded.departure.schedule_id), condition: Condition::Version(loaded.version) }
}

/// Issues every ticket of an order (status `3`, tickets `2` with codes, §3.7 consistency).
pub(crate) fn issue(order: &mut Order, dep: &Departure, now: DateTime<Utc>) {
    let pwd = new_boarding_code();
    for p in &mut order.passengers {
        p.ticket.status = TicketStatus::Issued;
        p.ticket.e_ticket_no = Some(new_e_ticket_no());
    }
    order.status = OrderStatus::Issued;
    order.issued_at = Some(now);
    order.fetch_ticket_spot = dep.line.fetch_ticket_spot.clone();
    order.ticket_wicket = dep.line.ticket_wicket.clone();
    order.driver_contact_phone = dep.line.driver_contact_phone.clone();
    order.ticket_pwd = Some(pwd);
}

/// Fails an unissued order (status `4`, tickets `3`) with its cause: a code, a reason, or
/// both (no reason: the code's own words).
fn fail(order: &mut Order, code: Option<RefusalCode>, reason: Option<Reason>, now: DateTime<Utc>) {
    order.status = OrderStatus::Closed;
    order.void_tickets();
    order.book_fail_code = code;
    order.book_fail = reason;
    order.ended_at = Some(now);
}

/// The change lazy expiry makes at `now`, if due (§2.5, §3.7): a lock past `lockExpireTime`
/// → `5`; an async issue past its deadline → `4` 出票超时 with the failure callback. Seats
/// are released in both cases. Returns the new order, the writes, and the callback ids.
pub fn expiry(order: &Order, version: u64, now: DateTime<Utc>) -> Option<(Order, Vec<Write>, Vec<String>)> {
    match order.status {
        OrderStatus::Locked if order.lock_expire_at <= now => {
            let mut new = order.clone();
            new.status = OrderStatus::Cancelled;
            new.void_tickets();
            new.ended_at = Some(now);
            let writes = vec![update_order(&new, version), release_seats(&new)];
            Some((new, writes, Vec::new()))
        }
        OrderStatus::Issuing if order.issue_deadline.is_some_and(|d| d <= now) => {
            let mut new = order.clone();
            fail(&mut new, None, Some(Reason::IssueTimedOut), now);
            let cb = callbacks::book_confirm(&new, false, now);
            let writes = vec![update_order(&new, version), release_seats(&new), cb.insert()];
            Some((new, writes, vec![cb.id]))
        }
        _ => None,
    }
}

/// An order after lazy expiry, with the version it is at.
pub(crate) struct Live {
    pub order: Order,
    pub version: u64,
    /// Whether this read committed a lazy expiry.
    pub expired: bool,
}

/// Reads an order and applies lazy expiry first. `None` = no such order (a refused create
/// included). Callbacks of a committed expiry are pushed to `callbacks`.
pub(crate) async fn load_live(store: &dyn Store, id: &str, now: DateTime<Utc>, callbacks: &mut Vec<String>) -> Result<Option<Live>, OrderError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some((OrderRecord::Order(order), version)) = load_record(store, id).await? else {
            return Ok(None);
        };
        match expiry(&order, version, now) {
            None => return Ok(Some(Live { order: *order, version, expired: false })),
            Some((new, writes, ids)) => {
                if commit(store, writes, attempt).await? {
                    tracing::info!(alitrip_order_id = id, status = ?new.status, "order expired");
                    callbacks.extend(ids);
                    return Ok(Some(Live { order: new, version: version + 1, expired: true }));
                }
            }
        }
    }
    Err(records::contention())
}

/// `order-not-found` when `agentOrderId` is given and differs (§2.5).
pub(crate) fn check_agent(order: &Order, agent_order_id: Option<&str>) -> Result<(), OrderError> {
    match agent_order_id {
        Some(a) if a != order.agent_order_id => Err(OrderError::NotFound),
        _ => Ok(()),
    }
}

/// Reads the order for an interface call: lazy expiry, then the `agentOrderId` check.
pub(crate) async fn load_for_call(
    store: &dyn Store,
    id: &str,
    agent_order_id: Option<&str>,
    now: DateTime<Utc>,
    callbacks: &mut Vec<String>,
) -> Result<Live, OrderError> {
    let live = load_live(store, id, now, callbacks).await?.ok_or(OrderError::NotFound)?;
    check_agent(&live.order, agent_order_id)?;
    Ok(live)
}

/// Order query (§3.6): the current state after lazy expiry, with the current D.
pub async fn query(store: &dyn Store, id: &str, agent_order_id: Option<&str>, now: DateTime<Utc>) -> Reply<OrderAt> {
    Reply::gather(async |cbs| query_inner(store, id, agent_order_id, now, cbs).await).await
}

async fn query_inner(
    store: &dyn Store,
    id: &str,
    agent_order_id: Option<&str>,
    now: DateTime<Utc>,
    cbs: &mut Vec<String>,
) -> Result<OrderAt, OrderError> {
    let live = load_for_call(store, id, agent_order_id, now, cbs).await?;
    let start = match load_departure_record(store, &live.order.schedule_id).await? {
        Some(l) => l.departure.start_time_text(),
        None => wire_time(live.order.departure_at),
    };
    Ok(OrderAt { order: live.order, start_time: start })
}

/// Confirm = issue tickets (§3.7). In `1`: a stopped departure fails the order (`4`, `1102`,
/// seats released); otherwise sync issues at once (`3`) and async accepts (`2`, deadline).
/// Repeats never issue twice: `2`/`3`/`9`/`11` answer the current detail, `4` its stored
/// failure, `5` `invalid-state` 订单已取消.
pub async fn confirm(store: &dyn Store, id: &str, agent_order_id: Option<&str>, now: DateTime<Utc>, settings: &Settings) -> Reply<Order> {
    Reply::gather(async |cbs| confirm_inner(store, id, agent_order_id, now, settings, cbs).await).await
}

fn closed_answer(order: &Order) -> OrderError {
    match order.book_fail_code {
        Some(code) => OrderError::refused(code, order.book_fail.clone()),
        None => OrderError::state(order.book_fail.clone().unwrap_or(Reason::OrderClosed)),
    }
}

async fn confirm_inner(
    store: &dyn Store,
    id: &str,
    agent_order_id: Option<&str>,
    now: DateTime<Utc>,
    settings: &Settings,
    cbs: &mut Vec<String>,
) -> Result<Order, OrderError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Live { order, version, .. } = load_for_call(store, id, agent_order_id, now, cbs).await?;
        match order.status {
            OrderStatus::Locked => {
                let (loaded, cached) = records::departure_for(store, settings, &order.schedule_id, attempt).await?;
                let mut new = order.clone();
                let mut writes = Vec::new();
                let stopped = match &loaded {
                    None => Some(RefusalCode::UnknownSchedule),
                    Some(l) if l.departure.is_stopped() => Some(RefusalCode::Stopped),
                    Some(_) => None,
                };
                if let Some(l) = &loaded {
                    writes.push(departure_unchanged(l));
                }
                if stopped.is_some() && cached {
                    // Never fail an order on the departure this container remembers: read it again.
                    continue;
                }
                if let Some(code) = stopped {
                    fail(&mut new, Some(code), None, now);
                    writes.push(update_order(&new, version));
                    writes.push(release_seats(&new));
                    if commit(store, writes, attempt).await? {
                        tracing::info!(alitrip_order_id = id, code = ?code, "confirm failed the order");
                        return Err(closed_answer(&new));
                    }
                    continue;
                }
                let dep = &loaded.as_ref().expect("departure present").departure;
                new.confirmed_at = Some(now);
                if settings.async_issue {
                    new.status = OrderStatus::Issuing;
                    new.issue_deadline = Some(now + Duration::minutes(settings.async_issue_deadline_minutes));
                } else {
                    issue(&mut new, dep, now);
                }
                writes.push(update_order(&new, version));
                if commit(store, writes, attempt).await? {
                    tracing::info!(alitrip_order_id = id, status = ?new.status, "order confirmed");
                    return Ok(new);
                }
            }
            OrderStatus::Issuing | OrderStatus::Issued | OrderStatus::Refunding | OrderStatus::Refunded => {
                return Ok(order);
            }
            OrderStatus::Closed => return Err(closed_answer(&order)),
            OrderStatus::Cancelled => return Err(OrderError::state(Reason::OrderCancelled)),
        }
    }
    Err(records::contention())
}

/// Close an unpaid order (§3.11): `1` → `5` with its seats released; `4`/`5` answer success
/// with no effect; a paid order answers `invalid-state`.
pub async fn close(store: &dyn Store, id: &str, agent_order_id: Option<&str>, now: DateTime<Utc>) -> Reply<Order> {
    Reply::gather(async |cbs| close_inner(store, id, agent_order_id, now, cbs).await).await
}

async fn close_inner(
    store: &dyn Store,
    id: &str,
    agent_order_id: Option<&str>,
    now: DateTime<Utc>,
    cbs: &mut Vec<String>,
) -> Result<Order, OrderError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Live { order, version, .. } = load_for_call(store, id, agent_order_id, now, cbs).await?;
        match order.status {
            OrderStatus::Locked => {
                let mut new = order.clone();
                new.status = OrderStatus::Cancelled;
                new.void_tickets();
                new.ended_at = Some(now);
                if commit(store, vec![update_order(&new, version), release_seats(&new)], attempt).await? {
                    tracing::info!(alitrip_order_id = id, "order closed");
                    return Ok(new);
                }
            }
            OrderStatus::Cancelled | OrderStatus::Closed => return Ok(order),
            _ => return Err(OrderError::state(Reason::OrderPaid)),
        }
    }
    Err(records::contention())
}

/// What [`decide_issue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Tickets `2`, order `3`.
    Issued,
    /// Order `4` with the given (or forced `1102`) cause.
    Failed,
    /// The deadline had passed: order `4` 出票超时, whatever was asked.
    TimedOut,
}

/// Result of [`decide_issue`]: hand `callback_ids` to the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDecision {
    pub outcome: IssueOutcome,
    pub status: OrderStatus,
    pub callback_ids: Vec<String>,
}

/// The back office's (or automation's) decision on an async issue (§3.7): the order must be
/// in `2`. Success issues the tickets (`3`) unless the departure was stopped meanwhile
/// (then `4` with `1102`); failure sets `4` with `fail_code` (one of 1102/1104/1114/1401, or
/// none) and `msg`, releasing the seats. A decision after the deadline fails the order with
/// 出票超时 instead. The `bookticket.confirm` callback (§4.2) is written in the same
/// transaction.
pub async fn decide_issue(
    store: &dyn Store,
    alitrip_order_id: &str,
    success: bool,
    fail_code: Option<RefusalCode>,
    msg: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IssueDecision, OrderError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some((OrderRecord::Order(order), version)) = load_record(store, alitrip_order_id).await? else {
            return Err(OrderError::NotFound);
        };
        if let Some((new, writes, ids)) = expiry(&order, version, now) {
            if !commit(store, writes, attempt).await? {
                continue;
            }
            if order.status == OrderStatus::Issuing {
                tracing::info!(alitrip_order_id, "async issue decided after its deadline: timed out");
                return Ok(IssueDecision { outcome: IssueOutcome::TimedOut, status: new.status, callback_ids: ids });
            }
            return Err(OrderError::NotIssuing(new.status));
        }
        if order.status != OrderStatus::Issuing {
            return Err(OrderError::NotIssuing(order.status));
        }
        let loaded = load_departure_record(store, &order.schedule_id).await?;
        let mut new = (*order).clone();
        let mut writes = Vec::new();
        if let Some(l) = &loaded {
            writes.push(departure_unchanged(l));
        }
        let forced = match &loaded {
            None => Some(RefusalCode::UnknownSchedule),
            Some(l) if l.departure.is_stopped() => Some(RefusalCode::Stopped),
            _ => None,
        };
        let outcome = match (success, forced, &loaded) {
            (true, None, Some(l)) => {
                issue(&mut new, &l.departure, now);
                IssueOutcome::Issued
            }
            (true, Some(code), _) => {
                fail(&mut new, Some(code), None, now);
                IssueOutcome::Failed
            }
            _ => {
                let said = msg.map(str::trim).filter(|m| !m.is_empty()).map(|m| Reason::Said(m.to_string()));
                // Without words or a code the passenger reads that the issue failed.
                let reason = said.or_else(|| fail_code.is_none().then_some(Reason::IssueFailed));
                fail(&mut new, fail_code, reason, now);
                IssueOutcome::Failed
            }
        };
        writes.push(update_order(&new, version));
        if outcome == IssueOutcome::Failed {
            writes.push(release_seats(&new));
        }
        let cb = callbacks::book_confirm(&new, outcome == IssueOutcome::Issued, now);
        writes.push(cb.insert());
        if commit(store, writes, attempt).await? {
            tracing::info!(alitrip_order_id, outcome = ?outcome, "async issue decided");
            return Ok(IssueDecision { outcome, status: new.status, callback_ids: vec![cb.id] });
        }
    }
    Err(records::contention())
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Locks past `lockExpireTime` moved to `5`.
    pub locks_expired: usize,
    /// Async issues past their deadline moved to `4` 出票超时.
    pub issues_timed_out: usize,
    /// Callbacks written (hand them to the delivery queue).
    pub callback_ids: Vec<String>,
    /// Orders that could not be expired this time (contention, store errors).
    pub errors: usize,
}

impl SweepReport {
    /// Orders changed.
    pub fn total(&self) -> usize {
        self.locks_expired + self.issues_timed_out
    }
}

/// Most orders one sweep expires per partition (the next sweep takes the rest).
pub const SWEEP_LIMIT: usize = 1000;

/// The sweeper's pass (§2.5, §3.7): every lock past its `lockExpireTime` → `5` (seats
/// released, tickets `3`), every async issue past its deadline → `4` 出票超时 with its
/// `bookticket.confirm` failure callback. Each order is re-read and changed conditionally, so
/// a concurrent confirm, close or decision wins or is re-evaluated. One index query per
/// partition, then one `get` and one transaction per due order.
pub async fn expire_due(store: &dyn Store, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    for (pk, locks) in [(records::LOCKED_INDEX_PK, true), (records::ISSUING_INDEX_PK, false)] {
        let items = store.query_index(pk, "").await?;
        for item in items.into_iter().take(SWEEP_LIMIT) {
            let Ok(OrderRecord::Order(order)) = item.decode::<OrderRecord>() else { continue };
            let due = if locks { order.lock_expire_at } else { order.issue_deadline.unwrap_or(order.lock_expire_at) };
            if due > now {
                break;
            }
            let mut ids = Vec::new();
            match load_live(store, &order.alitrip_order_id, now, &mut ids).await {
                Ok(Some(live)) if live.expired => {
                    if locks {
                        report.locks_expired += 1;
                    } else {
                        report.issues_timed_out += 1;
                    }
                    report.callback_ids.extend(ids);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(alitrip_order_id = %order.alitrip_order_id, error = %e, "expiry failed; next sweep");
                    report.errors += 1;
                }
            }
        }
    }
    Ok(report)
}
