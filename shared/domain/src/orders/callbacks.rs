//! The callbacks Fliggy is owed for orders and refunds (fliggy-bus.md §4.2–§4.4), in the
//! business's terms: what was decided, with what the callback tells of the order as it stood
//! then. Each is committed in
//! the outbox with the state change that owes it; `busgate_wire::callbacks` renders it as its
//! TOP call when it is sent, the same content on every retry.

use chrono::{DateTime, Utc};

use crate::outbox::{new_callback_id, BusCallback, Callback, Destination, RefundDecision, RefundedTicket};

use super::model::{MoneyRefund, Order, Refund};

/// Fen to the minimal yuan text of §4.1: 1050 → `"10.5"`, 1000 → `"10"`, 1 → `"0.01"`,
/// 5 → `"0.05"`, 1805 → `"18.05"`, 0 → `"0"`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let (y, r) = (fen / 100, fen % 100);
    if r == 0 {
        format!("{sign}{y}")
    } else if r % 10 == 0 {
        format!("{sign}{y}.{}", r / 10)
    } else {
        format!("{sign}{y}.{r:02}")
    }
}

fn subject(order: &Order) -> String {
    format!("order {}", order.alitrip_order_id)
}

fn owed(id: impl Into<String>, order: &Order, callback: BusCallback, now: DateTime<Utc>) -> Callback {
    Callback::new(id, Destination::Bus { callback }, subject(order), now)
}

/// The issue callback (§4.2) of an order that left `2`.
pub fn book_confirm(order: &Order, success: bool, now: DateTime<Utc>) -> Callback {
    owed(new_callback_id(now), order, BusCallback::Issue { order: Box::new(order.clone()), success }, now)
}

/// The refund callbacks (§4.3) of a decided async refund: one per ticket on a per-ticket
/// refund, one for the order on a whole-order refund; `reason`: the operator's words on a
/// rejection.
pub fn refund_confirms(
    order: &Order,
    refund: &Refund,
    success: bool,
    reason: Option<&str>,
    depart: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Callback> {
    let tickets: Vec<(Option<RefundedTicket>, i64)> = if refund.whole_order {
        vec![(None, refund.total)]
    } else {
        refund
            .lines
            .iter()
            .filter_map(|l| {
                let p = order.passenger_by_ticket(&l.ticket_id)?;
                let ticket = RefundedTicket {
                    ticket_id: p.ticket.ticket_id.clone(),
                    passenger_id: p.passenger_id.clone(),
                    passenger_name: p.name.clone(),
                    cert_no: p.cert_no.clone(),
                };
                Some((Some(ticket), l.amount))
            })
            .collect()
    };
    tickets
        .into_iter()
        .map(|(ticket, amount)| {
            let callback = BusCallback::RefundDecided(RefundDecision {
                alitrip_order_id: order.alitrip_order_id.clone(),
                agent_order_id: order.agent_order_id.clone(),
                refund_id: refund.refund_id.clone(),
                whole_order: refund.whole_order,
                ticket,
                amount,
                success,
                reason: reason.map(str::to_string),
                depart,
                decided_at: now,
            });
            owed(new_callback_id(now), order, callback, now)
        })
        .collect()
}

/// The money refund callback (§4.4) with its id.
pub fn multiple_refund(order: &Order, m: &MoneyRefund, callback_id: &str, now: DateTime<Utc>) -> Callback {
    owed(callback_id, order, BusCallback::MoneyRefund { order: Box::new(order.clone()), refund: m.clone() }, now)
}
