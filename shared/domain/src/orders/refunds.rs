//! Refunds: the fee query (§3.8), refund apply (§3.9), the async refund decision, and the
//! operator's money refunds, counter refunds and stopped-departure refunds (§4.4, §8.5, §8.6).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::catalogue::{load_departure_record, seats_key, LoadedDeparture, NotRefundable};
use crate::outbox::new_callback_id;
use crate::store::{Condition, Store, StoreError, Write};

use super::callbacks;
use super::error::{OrderError, RefundAccepted, RefundFee, Reply, TicketFee};
use super::lifecycle::{self, departure_unchanged, load_for_call, Live};
use super::model::{ForceReason, MoneyRefund, MoneyRefundKind, Order, OrderStatus, Refund, RefundLine, RefundState, RefusalCode, TicketStatus};
use super::reason::Reason;
use super::records::{
    self, commit, load_record, refund_key, refund_pointer_item, serial_insert, update_order, OrderRecord, RefundPointer, SerialRecord, Settings,
    MAX_ATTEMPTS,
};

/// Most tickets of one per-ticket refund decided asynchronously: its decision writes one
/// `refund.confirm` per ticket, plus the order, the pointer and the seats, in one transaction
/// of at most 100 writes.
pub const MAX_ASYNC_REFUND_TICKETS: usize = crate::store::MAX_TRANSACTION_WRITES - 3;

fn not_issued_error(status: OrderStatus) -> OrderError {
    OrderError::state(match status {
        OrderStatus::Closed => Reason::OrderClosed,
        OrderStatus::Cancelled => Reason::OrderCancelled,
        _ => Reason::OrderNotIssued,
    })
}

/// The departure of an order for a decision, from the container's cache on a first attempt
/// (`true` = cached; see [`records::departure_for`]).
async fn departure_cached(store: &dyn Store, settings: &Settings, order: &Order, attempt: usize) -> Result<(LoadedDeparture, bool), OrderError> {
    let (loaded, cached) = records::departure_for(store, settings, &order.schedule_id, attempt).await?;
    let loaded = loaded.ok_or_else(|| {
        OrderError::Store(StoreError::Corrupt(format!("departure {} of order {} is missing", order.schedule_id, order.alitrip_order_id)))
    })?;
    Ok((loaded, cached))
}

async fn departure_of(store: &dyn Store, order: &Order) -> Result<LoadedDeparture, OrderError> {
    load_departure_record(store, &order.schedule_id).await?.ok_or_else(|| {
        OrderError::Store(StoreError::Corrupt(format!("departure {} of order {} is missing", order.schedule_id, order.alitrip_order_id)))
    })
}

/// The seats of `n` refunded tickets, returned when D has not passed.
fn seats_back(order: &Order, n: usize, depart: DateTime<Utc>, now: DateTime<Utc>) -> Option<Write> {
    (n > 0 && now < depart).then(|| Write::Count { key: seats_key(&order.schedule_id), delta: n as i64, floor: None })
}

// ---------------------------------------------------------------------------------------------
// Fee (§3.8)
// ---------------------------------------------------------------------------------------------

/// The refund price of one ticket as of `now`.
fn ticket_fee(order: &Order, index: usize, loaded: &LoadedDeparture, now: DateTime<Utc>) -> TicketFee {
    let t = &order.passengers[index].ticket;
    let (surcharge, amount, refundable, reason) = match t.status {
        TicketStatus::Issued | TicketStatus::RefundFailed => {
            let q = loaded.departure.refund_quote(t.price, now);
            if q.refundable {
                (q.surcharge, q.refund.min(t.refundable_money()), true, None)
            } else {
                (t.price, 0, false, q.bar.map(Reason::NotRefundable))
            }
        }
        TicketStatus::Refunding | TicketStatus::Refunded => {
            (t.refund_surcharge.unwrap_or(0), t.refund_amount.unwrap_or(0), false, Some(Reason::Ticket(t.status)))
        }
        _ => (t.price, 0, false, Some(Reason::Ticket(t.status))),
    };
    TicketFee { passenger: index, surcharge, amount, refundable, reason }
}

/// Refund fee query (§3.8): every ticket of an issued order, priced as of `now`.
pub async fn fee(store: &dyn Store, alitrip_order_id: &str, agent_order_id: Option<&str>, now: DateTime<Utc>) -> Reply<RefundFee> {
    Reply::gather(async |cbs| fee_inner(store, alitrip_order_id, agent_order_id, now, cbs).await).await
}

async fn fee_inner(
    store: &dyn Store,
    id: &str,
    agent_order_id: Option<&str>,
    now: DateTime<Utc>,
    cbs: &mut Vec<String>,
) -> Result<RefundFee, OrderError> {
    let Live { order, .. } = load_for_call(store, id, agent_order_id, now, cbs).await?;
    if !order.status.is_issued() {
        return Err(OrderError::state(Reason::OrderNotIssued));
    }
    let loaded = departure_of(store, &order).await?;
    let tickets = (0..order.passengers.len()).map(|i| ticket_fee(&order, i, &loaded, now)).collect();
    Ok(RefundFee { whole_order: loaded.departure.line.is_order_refund, tickets, order })
}

// ---------------------------------------------------------------------------------------------
// Apply (§3.9)
// ---------------------------------------------------------------------------------------------

/// One `passengerList[]` entry of refunds/apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundEntry {
    /// The entry's path, e.g. `passengerList[0]`.
    pub path: String,
    pub ticket_id: Option<String>,
    pub passenger_id: Option<String>,
    pub cert_type: Option<String>,
    pub cert_no: Option<String>,
    /// The fee Fliggy showed.
    pub refund_surcharge: Option<i64>,
}

/// A refunds/apply request whose shape the edge has checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundApplyRequest {
    pub alitrip_order_id: String,
    pub agent_order_id: Option<String>,
    /// Empty = absent or empty list.
    pub entries: Vec<RefundEntry>,
    pub reason: Option<String>,
}

/// Resolves the entries to passenger indexes (§3.9 step 3): each must match exactly one
/// ticket by its first identifier (ticketId, passengerId, certificate), no ticket twice.
fn match_entries(order: &Order, entries: &[RefundEntry]) -> Result<Vec<(usize, Option<i64>)>, OrderError> {
    let mut out: Vec<(usize, Option<i64>)> = Vec::new();
    for e in entries {
        let (field, hits): (&str, Vec<usize>) = if let Some(t) = &e.ticket_id {
            ("ticketId", order.passengers.iter().enumerate().filter(|(_, p)| &p.ticket.ticket_id == t).map(|(i, _)| i).collect())
        } else if let Some(pid) = &e.passenger_id {
            ("passengerId", order.passengers.iter().enumerate().filter(|(_, p)| &p.passenger_id == pid).map(|(i, _)| i).collect())
        } else if let (Some(ct), Some(no)) = (&e.cert_type, &e.cert_no) {
            (
                "passengerCertificateNo",
                order
                    .passengers
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| &p.cert_type == ct && p.cert_no.eq_ignore_ascii_case(no))
                    .map(|(i, _)| i)
                    .collect(),
            )
        } else {
            return Err(OrderError::invalid(&e.path, "ticketId, passengerId or passengerCertificateType with passengerCertificateNo required"));
        };
        let path = format!("{}.{field}", e.path);
        match hits.as_slice() {
            [] => return Err(OrderError::invalid(path, "matches no ticket of this order")),
            [i] => {
                if out.iter().any(|(j, _)| j == i) {
                    return Err(OrderError::invalid(&e.path, "ticket named twice"));
                }
                out.push((*i, e.refund_surcharge));
            }
            _ => return Err(OrderError::invalid(path, "matches several tickets of this order")),
        }
    }
    Ok(out)
}

/// Refund request (§3.9): checks in order, the stored answer for a repeat, then one atomic
/// write: sync → tickets `5` with their seats back (D not passed) and the order re-derived;
/// async → tickets `4`, order `9`, the refund waiting for [`decide_refund`].
pub async fn apply_refund(store: &dyn Store, req: &RefundApplyRequest, now: DateTime<Utc>, settings: &Settings) -> Reply<RefundAccepted> {
    Reply::gather(async |cbs| apply_inner(store, req, now, settings, cbs).await).await
}

async fn apply_inner(
    store: &dyn Store,
    req: &RefundApplyRequest,
    now: DateTime<Utc>,
    settings: &Settings,
    cbs: &mut Vec<String>,
) -> Result<RefundAccepted, OrderError> {
    let mut attempt = 0;
    while attempt < MAX_ATTEMPTS {
        // 1–2.
        let Live { order, version, .. } = load_for_call(store, &req.alitrip_order_id, req.agent_order_id.as_deref(), now, cbs).await?;
        if !order.status.is_issued() {
            return Err(not_issued_error(order.status));
        }
        let (loaded, cached) = departure_cached(store, settings, &order, attempt).await?;
        attempt += 1;
        let outcome: Result<Option<RefundAccepted>, OrderError> = async {
            let whole = loaded.departure.line.is_order_refund;
            // 3.
            if req.entries.is_empty() && !whole {
                return Err(OrderError::invalid("passengerList", "required"));
            }
            let mut selected = match_entries(&order, &req.entries)?;
            let valid: Vec<usize> = (0..order.passengers.len()).filter(|&i| order.passengers[i].ticket.status.is_valid()).collect();
            if req.entries.is_empty() {
                selected = valid.iter().map(|&i| (i, None)).collect();
            }
            // 4.
            if whole && !valid.iter().all(|i| selected.iter().any(|(j, _)| j == i)) {
                return Err(OrderError::WholeOrderOnly);
            }
            // 5.
            let mut set: Vec<String> = selected.iter().map(|(i, _)| order.passengers[*i].ticket.ticket_id.clone()).collect();
            set.sort();
            let repeat = order.refunds.iter().rev().find(|r| r.state != RefundState::Failed && (whole || r.ticket_set() == set));
            if let Some(r) = repeat {
                return Ok(Some(RefundAccepted { refund: r.clone(), order: order.clone() }));
            }
            // 6.
            if selected.is_empty() {
                let status = order.passengers.first().map_or(TicketStatus::NoTicket, |p| p.ticket.status);
                return Err(OrderError::state(Reason::Ticket(status)));
            }
            selected.sort_by_key(|(i, _)| *i);
            if let Some((i, _)) = selected.iter().find(|(i, _)| !order.passengers[*i].ticket.status.is_valid()) {
                return Err(OrderError::state(Reason::Ticket(order.passengers[*i].ticket.status)));
            }
            // 7–9.
            let mut lines = Vec::with_capacity(selected.len());
            for (i, shown) in &selected {
                let p = &order.passengers[*i];
                let q = loaded.departure.refund_quote(p.ticket.price, now);
                if !q.refundable {
                    return Err(OrderError::state(Reason::NotRefundable(q.bar.unwrap_or(NotRefundable::Departed))));
                }
                if shown.is_some_and(|s| s != q.surcharge) {
                    return Err(OrderError::refused(RefusalCode::Mismatch, Some(Reason::SurchargeChanged)));
                }
                lines.push(RefundLine {
                    ticket_id: p.ticket.ticket_id.clone(),
                    passenger_id: p.passenger_id.clone(),
                    surcharge: q.surcharge,
                    amount: q.refund.min(p.ticket.refundable_money()),
                });
            }
            // Effects.
            let asynchronous = settings.async_refund;
            if asynchronous && !whole && lines.len() > MAX_ASYNC_REFUND_TICKETS {
                return Err(OrderError::invalid("passengerList", format!("at most {MAX_ASYNC_REFUND_TICKETS} tickets per refund request")));
            }
            let refund_id = records::new_id("RF", now);
            let mut new = order.clone();
            for l in &lines {
                let t = &mut new.passenger_by_ticket_mut(&l.ticket_id).expect("selected ticket").ticket;
                t.refund_surcharge = Some(l.surcharge);
                t.refund_amount = Some(l.amount);
                t.refund_id = Some(refund_id.clone());
                if asynchronous {
                    t.status = TicketStatus::Refunding;
                } else {
                    t.status = TicketStatus::Refunded;
                    t.refunded += l.amount;
                }
            }
            let refund = Refund {
                refund_id: refund_id.clone(),
                created_at: now,
                asynchronous,
                whole_order: whole,
                state: if asynchronous { RefundState::Pending } else { RefundState::Succeeded },
                total: lines.iter().map(|l| l.amount).sum(),
                lines,
                reason: req.reason.clone(),
                decided_at: (!asynchronous).then_some(now),
                fail_reason: None,
            };
            new.refunds.push(refund.clone());
            new.status = new.derived_status();
            let pointer =
                RefundPointer { refund_id: refund_id.clone(), alitrip_order_id: order.alitrip_order_id.clone(), created_at: now, pending: asynchronous };
            let mut writes = vec![
                update_order(&new, version),
                departure_unchanged(&loaded),
                Write::Put { item: refund_pointer_item(&pointer, 1), condition: Condition::Absent },
            ];
            if !asynchronous {
                writes.extend(seats_back(&new, refund.lines.len(), loaded.departure.departure_instant(), now));
            }
            if commit(store, writes, attempt).await? {
                tracing::info!(alitrip_order_id = %order.alitrip_order_id, refund_id = %refund_id, tickets = refund.lines.len(), asynchronous, "refund accepted");
                return Ok(Some(RefundAccepted { order: new, refund }));
            }
            Ok(None)
        }
        .await;
        match outcome {
            Ok(Some(answer)) => return Ok(answer),
            // Lost a race: decide again on fresh reads.
            Ok(None) => {}
            // Never refuse on the departure this container remembers: decide again on a fresh read.
            Err(e) if cached && !matches!(e, OrderError::Store(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Err(records::contention())
}

/// Result of [`decide_refund`]: hand `callback_ids` to the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDecision {
    pub alitrip_order_id: String,
    pub state: RefundState,
    /// The order status after the decision.
    pub status: OrderStatus,
    /// The callbacks this decision wrote (none when it repeats an earlier, equal decision).
    pub callback_ids: Vec<String>,
    /// The refund had already been decided the same way: nothing changed.
    pub repeated: bool,
}

/// The back office's decision on a pending async refund (§3.9, §8.4: the whole refund at
/// once): success → tickets `5` (seats back when D has not passed), failure → tickets `6`;
/// the order re-derived; `refund.confirm` (§4.3) written in the same transaction, one per
/// ticket, or one per order for a whole-order refund. `reason` is the failure text.
pub async fn decide_refund(
    store: &dyn Store,
    refund_id: &str,
    success: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RefundDecision, OrderError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some(item) = store.get(&refund_key(refund_id)).await? else {
            return Err(OrderError::NotFound);
        };
        let pointer: RefundPointer = item.decode()?;
        let Some((OrderRecord::Order(order), version)) = load_record(store, &pointer.alitrip_order_id).await? else {
            return Err(OrderError::NotFound);
        };
        let Some(refund) = order.refund(refund_id).cloned() else {
            return Err(OrderError::NotFound);
        };
        // A repeated decision (a retried command, the sweeper racing the back office) answers
        // what was decided; the opposite decision cannot undo it.
        match (refund.state, success) {
            (RefundState::Pending, _) => {}
            (RefundState::Succeeded, true) | (RefundState::Failed, false) => {
                return Ok(RefundDecision {
                    alitrip_order_id: order.alitrip_order_id.clone(),
                    state: refund.state,
                    status: order.status,
                    callback_ids: Vec::new(),
                    repeated: true,
                })
            }
            (RefundState::Succeeded, false) => return Err(OrderError::state(Reason::RefundApproved)),
            (RefundState::Failed, true) => return Err(OrderError::state(Reason::RefundRejected)),
        }
        let depart = load_departure_record(store, &order.schedule_id).await?.map(|l| l.departure.departure_instant()).unwrap_or(order.departure_at);
        let mut new = (*order).clone();
        for l in &refund.lines {
            let t = &mut new.passenger_by_ticket_mut(&l.ticket_id).expect("refund ticket").ticket;
            if success {
                t.status = TicketStatus::Refunded;
                t.refunded += l.amount;
            } else {
                t.status = TicketStatus::RefundFailed;
                t.refund_surcharge = None;
                t.refund_amount = None;
            }
        }
        let words = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        let r = new.refunds.iter_mut().find(|r| r.refund_id == refund_id).expect("refund present");
        r.state = if success { RefundState::Succeeded } else { RefundState::Failed };
        r.decided_at = Some(now);
        r.fail_reason = words.clone().filter(|_| !success);
        let decided = r.clone();
        new.status = new.derived_status();
        let cbs = callbacks::refund_confirms(&new, &decided, success, words.as_deref(), depart, now);
        let done = RefundPointer { pending: false, ..pointer };
        let mut writes = vec![
            update_order(&new, version),
            Write::Put { item: refund_pointer_item(&done, item.version + 1), condition: Condition::Version(item.version) },
        ];
        if success {
            writes.extend(seats_back(&new, decided.lines.len(), depart, now));
        }
        writes.extend(cbs.iter().map(|c| c.insert()));
        if commit(store, writes, attempt).await? {
            tracing::info!(alitrip_order_id = %new.alitrip_order_id, refund_id, success, "async refund decided");
            return Ok(RefundDecision {
                alitrip_order_id: new.alitrip_order_id.clone(),
                state: decided.state,
                status: new.status,
                callback_ids: cbs.into_iter().map(|c| c.id).collect(),
                repeated: false,
            });
        }
    }
    Err(records::contention())
}

/// What [`approve_overdue_refunds`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverdueRefunds {
    pub approved: usize,
    /// Callbacks written (hand them to the delivery queue).
    pub callback_ids: Vec<String>,
    /// Refunds that could not be decided this time (contention, store errors).
    pub errors: usize,
}

/// The sweeper's pass over async refunds: every refund still pending `after` its acceptance
/// is approved (it met the refund rules when it was accepted, and the passenger's money must
/// not wait on a back office that never answers). One index query, then one decision each.
pub async fn approve_overdue_refunds(store: &dyn Store, now: DateTime<Utc>, after: chrono::Duration) -> Result<OverdueRefunds, StoreError> {
    let mut report = OverdueRefunds::default();
    for pointer in records::list_pending_refunds(store).await?.into_iter().take(lifecycle::SWEEP_LIMIT) {
        if pointer.created_at + after > now {
            break;
        }
        match decide_refund(store, &pointer.refund_id, true, None, now).await {
            Ok(d) => {
                if !d.repeated {
                    tracing::info!(refund_id = %pointer.refund_id, "async refund past its deadline: approved");
                    report.approved += 1;
                }
                report.callback_ids.extend(d.callback_ids);
            }
            Err(e) => {
                tracing::warn!(refund_id = %pointer.refund_id, error = %e, "overdue refund not decided; next sweep");
                report.errors += 1;
            }
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Operator money refunds (§4.4)
// ---------------------------------------------------------------------------------------------

/// Result of an operator money refund: hand `callback_ids` to the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyRefundOutcome {
    pub alitrip_order_id: String,
    /// `agent_refund_trans_no` (`MR…`).
    pub serial: String,
    /// (ticketId, fen) paid back.
    pub lines: Vec<(String, i64)>,
    pub total: i64,
    /// The order status after the action.
    pub status: OrderStatus,
    pub callback_ids: Vec<String>,
}

/// Picks (passenger index, fen) of a money refund from the order and departure as read.
type Plan<'a> = dyn Fn(&Order, &LoadedDeparture) -> Result<Vec<(usize, i64)>, OrderError> + Sync + 'a;

/// Commits one operator money refund on an issued order: `plan` picks (passenger index,
/// fen) from the order as read; with `tickets_refunded`, those tickets become `5` and their
/// seats return when D has not passed. The serial record (`Absent`), the order (at its
/// version) and the `multiple.refund.confirm` callback go in one transaction.
async fn money_action(
    store: &dyn Store,
    id: &str,
    now: DateTime<Utc>,
    kind: MoneyRefundKind,
    force: Option<ForceReason>,
    reason: &str,
    plan: &Plan<'_>,
) -> Result<MoneyRefundOutcome, OrderError> {
    let tickets_refunded = kind != MoneyRefundKind::Compensation;
    for attempt in 0..MAX_ATTEMPTS {
        let Some((OrderRecord::Order(order), version)) = load_record(store, id).await? else {
            return Err(OrderError::NotFound);
        };
        if !order.status.is_issued() {
            return Err(not_issued_error(order.status));
        }
        let loaded = departure_of(store, &order).await?;
        let picks = plan(&order, &loaded)?;
        let serial = records::new_id("MR", now);
        let mut new = (*order).clone();
        let mut lines = Vec::with_capacity(picks.len());
        for (i, amount) in &picks {
            let t = &mut new.passengers[*i].ticket;
            let before = t.refunded;
            t.refunded += amount;
            if tickets_refunded {
                t.status = TicketStatus::Refunded;
                t.refund_surcharge = Some((t.price - before - amount).max(0));
                t.refund_amount = Some(*amount);
                t.refund_id = Some(serial.clone());
            }
            lines.push((t.ticket_id.clone(), *amount));
        }
        if tickets_refunded {
            new.status = new.derived_status();
        }
        let callback_id = new_callback_id(now);
        let m = MoneyRefund {
            serial: serial.clone(),
            at: now,
            kind,
            force,
            reason: reason.to_string(),
            total: lines.iter().map(|(_, a)| a).sum(),
            lines: lines.clone(),
            callback_id: Some(callback_id.clone()),
        };
        new.money_refunds.push(m.clone());
        let cb = callbacks::multiple_refund(&new, &m, &callback_id, now);
        let mut writes = vec![
            update_order(&new, version),
            serial_insert(&SerialRecord { serial: serial.clone(), alitrip_order_id: id.to_string(), total: m.total, at: now }),
            cb.insert(),
        ];
        if tickets_refunded {
            writes.extend(seats_back(&new, picks.len(), loaded.departure.departure_instant(), now));
        }
        if commit(store, writes, attempt).await? {
            tracing::info!(alitrip_order_id = id, serial = %serial, total = m.total, kind = ?kind, "money refund recorded");
            return Ok(MoneyRefundOutcome {
                alitrip_order_id: id.to_string(),
                serial,
                lines,
                total: m.total,
                status: new.status,
                callback_ids: vec![cb.id],
            });
        }
    }
    Err(records::contention())
}

/// Every ticket in `2`/`6`, in passenger order.
fn valid_tickets(order: &Order) -> Vec<usize> {
    (0..order.passengers.len()).filter(|&i| order.passengers[i].ticket.status.is_valid()).collect()
}

/// An operator money refund (§4.4), sent as `multiple.refund.confirm` with a new unique
/// serial `MR…` (its record is written `Absent` with the callback, so one action is paid once).
///
/// * `force: None`: compensation or partial refund (`common`): `amount_fen` (required, > 0)
///   is spread over the tickets in passenger order, each up to what may still be refunded on
///   it (§8.5); no ticket changes.
/// * `force: Some(reason)`: forced refund (`force` with the official reason code): every
///   ticket in `2`/`6` becomes `5` with its price less the money already refunded; seats
///   return when D has not passed; the order is re-derived. `amount_fen` must be `None`.
pub async fn money_refund(
    store: &dyn Store,
    alitrip_order_id: &str,
    amount_fen: Option<i64>,
    reason: &str,
    force: Option<ForceReason>,
    now: DateTime<Utc>,
) -> Result<MoneyRefundOutcome, OrderError> {
    let reason = reason.trim();
    match force {
        None => {
            if reason.is_empty() {
                return Err(OrderError::invalid("reason", "required"));
            }
            let amount = match amount_fen {
                Some(a) if a > 0 => a,
                _ => return Err(OrderError::invalid("amount", "required, more than 0 fen")),
            };
            let plan = move |order: &Order, _: &LoadedDeparture| {
                let mut left = amount;
                let mut picks = Vec::new();
                for (i, p) in order.passengers.iter().enumerate() {
                    let take = left.min(p.ticket.refundable_money());
                    if take > 0 {
                        picks.push((i, take));
                        left -= take;
                    }
                }
                if left > 0 {
                    let max: i64 = order.passengers.iter().map(|p| p.ticket.refundable_money()).sum();
                    return Err(OrderError::invalid(
                        "amount",
                        format!("{amount} fen is more than the {max} fen that may still be refunded on this order"),
                    ));
                }
                Ok(picks)
            };
            money_action(store, alitrip_order_id, now, MoneyRefundKind::Compensation, None, reason, &plan).await
        }
        Some(f) => {
            if amount_fen.is_some() {
                return Err(OrderError::invalid("amount", "a forced refund pays each ticket's price less the money already refunded"));
            }
            forced(store, alitrip_order_id, f, reason, now).await
        }
    }
}

async fn forced(store: &dyn Store, id: &str, f: ForceReason, reason: &str, now: DateTime<Utc>) -> Result<MoneyRefundOutcome, OrderError> {
    let plan = |order: &Order, _: &LoadedDeparture| {
        let picks: Vec<(usize, i64)> = valid_tickets(order).into_iter().map(|i| (i, order.passengers[i].ticket.refundable_money())).collect();
        if picks.is_empty() {
            return Err(OrderError::state(Reason::NothingToRefund));
        }
        Ok(picks)
    };
    money_action(store, id, now, MoneyRefundKind::Forced, Some(f), reason, &plan).await
}

/// A counter (offline) refund (§4.4, §8.6): the named tickets (all in `2`/`6` when `None`)
/// become `5` at once (`isRefund` true), each paying `amount_per_ticket_fen` or else its price
/// less the tier fee as of `now` (0 when the tier refuses), never more than may still be
/// refunded on it (§8.5); seats return when D has not passed; the order is re-derived; a
/// `multiple.refund.confirm` (`common`) is written.
pub async fn offline_refund(
    store: &dyn Store,
    alitrip_order_id: &str,
    tickets: Option<Vec<String>>,
    amount_per_ticket_fen: Option<i64>,
    now: DateTime<Utc>,
) -> Result<MoneyRefundOutcome, OrderError> {
    if amount_per_ticket_fen.is_some_and(|a| a < 0) {
        return Err(OrderError::invalid("amount", "must not be negative"));
    }
    let plan = move |order: &Order, loaded: &LoadedDeparture| {
        let indexes: Vec<usize> = match &tickets {
            None => valid_tickets(order),
            Some(ids) => {
                let mut seen = BTreeSet::new();
                let mut out = Vec::new();
                for (n, tid) in ids.iter().enumerate() {
                    let Some(i) = order.passengers.iter().position(|p| &p.ticket.ticket_id == tid) else {
                        return Err(OrderError::invalid(format!("tickets[{n}]"), format!("{tid} is not a ticket of this order")));
                    };
                    if !seen.insert(i) {
                        return Err(OrderError::invalid(format!("tickets[{n}]"), "ticket named twice"));
                    }
                    let status = order.passengers[i].ticket.status;
                    if !status.is_valid() {
                        return Err(OrderError::invalid(format!("tickets[{n}]"), format!("{tid} cannot be refunded: it is {status:?}")));
                    }
                    out.push(i);
                }
                out.sort_unstable();
                out
            }
        };
        if indexes.is_empty() {
            return Err(OrderError::state(Reason::NothingToRefund));
        }
        let mut picks = Vec::new();
        for i in indexes {
            let t = &order.passengers[i].ticket;
            let max = t.refundable_money();
            let amount = match amount_per_ticket_fen {
                Some(a) if a > max => {
                    return Err(OrderError::invalid(
                        "amount",
                        format!("{a} fen is more than the {max} fen that may still be refunded on {}", t.ticket_id),
                    ))
                }
                Some(a) => a,
                None => {
                    let q = loaded.departure.refund_quote(t.price, now);
                    if q.refundable {
                        q.refund.min(max)
                    } else {
                        0
                    }
                }
            };
            picks.push((i, amount));
        }
        Ok(picks)
    };
    money_action(store, alitrip_order_id, now, MoneyRefundKind::Counter, None, "", &plan).await
}

/// What [`refund_stopped_departure`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoppedRefundReport {
    /// Orders whose valid tickets were refunded.
    pub orders_refunded: usize,
    pub tickets_refunded: usize,
    /// Money paid back, fen.
    pub total: i64,
    /// Async issues failed with `1102`.
    pub issues_failed: usize,
    /// Callbacks written (hand them to the delivery queue).
    pub callback_ids: Vec<String>,
    /// Orders that could not be handled, and why; run it again for them.
    pub errors: Vec<(String, OrderError)>,
}

/// Refunds every sold ticket (`2`/`6`) of a stopped departure (§4.4): per order one forced
/// money refund (`force` with `reason`'s code, the stop's reason text), tickets `5`, orders
/// re-derived. Async issues still pending fail with `1102`. Orders awaiting payment are left
/// to confirm (`1102`) or expiry. Safe to run again: refunded tickets are not paid twice.
pub async fn refund_stopped_departure(
    store: &dyn Store,
    schedule_id: &str,
    reason: ForceReason,
    now: DateTime<Utc>,
) -> Result<StoppedRefundReport, OrderError> {
    let loaded = load_departure_record(store, schedule_id).await?.ok_or_else(|| OrderError::invalid("scheduleId", "unknown departure"))?;
    let Some(stop) = &loaded.departure.stop else {
        return Err(OrderError::state(Reason::DepartureNotStopped));
    };
    // The stop's own reason, or (none) wire's words for the force-majeure reason.
    let text = stop.reason.trim().to_string();
    let mut report = StoppedRefundReport::default();
    for m in store.query(&records::departure_orders_pk(schedule_id), "").await? {
        let id = m.key.sk.clone();
        let Some((OrderRecord::Order(order), _)) = load_record(store, &id).await? else { continue };
        let result = match order.status {
            OrderStatus::Issued | OrderStatus::Refunding if !valid_tickets(&order).is_empty() => {
                forced(store, &id, reason, &text, now).await.map(|o| {
                    report.orders_refunded += 1;
                    report.tickets_refunded += o.lines.len();
                    report.total += o.total;
                    report.callback_ids.extend(o.callback_ids);
                })
            }
            OrderStatus::Issuing => lifecycle::decide_issue(store, &id, true, None, None, now).await.map(|d| {
                report.issues_failed += 1;
                report.callback_ids.extend(d.callback_ids);
            }),
            _ => Ok(()),
        };
        if let Err(e) = result {
            // A ticket refunded meanwhile is not an error worth repeating.
            if !matches!(e, OrderError::InvalidState(_)) {
                report.errors.push((id, e));
            }
        }
    }
    tracing::info!(schedule_id, orders = report.orders_refunded, tickets = report.tickets_refunded, "stopped departure refunded");
    Ok(report)
}
