//! `busgate refund offline | money` and `busgate catalogue stop --refund`, over the orders
//! domain's `offline_refund`, `money_refund` and `refund_stopped_departure`.

use busgate_domain::orders::{self, fen_to_yuan, ForceReason, MoneyRefundOutcome, OrderError};
use busgate_edge::App;
use serde_json::{json, Value};

use super::{plural, AdminOutput};

/// Force-majeure reasons of `--force-majeure`.
pub const FORCE_MAJEURE: [&str; 3] = ["weather", "stopped", "epidemic"];

fn order_error(order_id: &str, e: OrderError) -> String {
    match e {
        OrderError::NotFound => format!("order {order_id} not found"),
        other => format!("order {order_id}: {other} ({})", other.ret_code()),
    }
}

fn outcome(o: &MoneyRefundOutcome, what: &str) -> AdminOutput {
    let mut text = format!(
        "{what} on order {}: {} yuan paid back (serial {}); the order is now {} {}",
        o.alitrip_order_id,
        fen_to_yuan(o.total),
        o.serial,
        o.status.code(),
        o.status.desc()
    );
    for (ticket, fen) in &o.lines {
        text.push_str(&format!("\n  ticket {ticket}: {} yuan", fen_to_yuan(*fen)));
    }
    text.push_str(&format!("\nmultiple.refund.confirm: {} queued", o.callback_ids.len()));
    let lines: Vec<Value> = o.lines.iter().map(|(t, f)| json!({"ticket_id": t, "fen": f})).collect();
    AdminOutput::new(
        text,
        json!({
            "alitrip_order_id": o.alitrip_order_id,
            "serial": o.serial,
            "total_fen": o.total,
            "lines": lines,
            "status": o.status.code(),
            "callback_ids": o.callback_ids,
        }),
    )
}

/// A counter (offline) refund: `tickets` (all valid ones when empty) become refunded, each
/// paying `amount_per_ticket_fen` or else its price less the tier fee as of now.
pub async fn offline(app: &App, order_id: &str, tickets: &[String], amount_per_ticket_fen: Option<i64>) -> Result<AdminOutput, String> {
    let order_id = order_id.trim();
    let tickets = (!tickets.is_empty()).then(|| tickets.to_vec());
    let o = orders::offline_refund(app.store.as_ref(), order_id, tickets, amount_per_ticket_fen, app.clock.now())
        .await
        .map_err(|e| order_error(order_id, e))?;
    app.dispatch(&o.callback_ids).await;
    Ok(outcome(&o, "counter refund"))
}

/// A money refund: compensation of `amount_fen`, or (`force_majeure`) a forced refund of every
/// valid ticket.
pub async fn money(app: &App, order_id: &str, amount_fen: Option<i64>, reason: &str, force: Option<&str>) -> Result<AdminOutput, String> {
    let order_id = order_id.trim();
    let force = match force {
        None => None,
        Some(f) => Some(ForceReason::parse(f).ok_or_else(|| format!("--force-majeure: one of {} (got \"{f}\")", FORCE_MAJEURE.join(", ")))?),
    };
    let o =
        orders::money_refund(app.store.as_ref(), order_id, amount_fen, reason, force, app.clock.now()).await.map_err(|e| order_error(order_id, e))?;
    app.dispatch(&o.callback_ids).await;
    Ok(outcome(&o, if force.is_some() { "forced refund" } else { "money refund" }))
}

/// Refunds every sold ticket of a stopped departure (forced refunds, reason "stopped").
/// Returns the text, the JSON and whether every order was handled.
pub async fn stopped_departure(app: &App, schedule_id: &str) -> Result<(String, Value, bool), String> {
    let r = orders::refund_stopped_departure(app.store.as_ref(), schedule_id, ForceReason::Stopped, app.clock.now())
        .await
        .map_err(|e| format!("refunding departure {schedule_id}: {e}"))?;
    app.dispatch(&r.callback_ids).await;
    let mut text = format!(
        "refunds: {} on {}, {} yuan paid back; {} failed; {} queued",
        plural(r.tickets_refunded, "ticket"),
        plural(r.orders_refunded, "order"),
        fen_to_yuan(r.total),
        plural(r.issues_failed, "pending issue"),
        plural(r.callback_ids.len(), "callback"),
    );
    for (order, why) in &r.errors {
        text.push_str(&format!("\n  order {order} not refunded: {why}"));
    }
    if !r.errors.is_empty() {
        text.push_str("\nrun the same command again to refund them (refunded tickets are not paid twice)");
    }
    let errors: Vec<Value> = r.errors.iter().map(|(o, why)| json!({"order_id": o, "error": why})).collect();
    let json = json!({
        "orders_refunded": r.orders_refunded,
        "tickets_refunded": r.tickets_refunded,
        "total_fen": r.total,
        "issues_failed": r.issues_failed,
        "callback_ids": r.callback_ids,
        "errors": errors,
    });
    Ok((text, json, r.errors.is_empty()))
}
