//! `busgate refund list | approve | reject | offline | money` and `busgate catalogue stop
//! --refund`, over the orders domain's `decide_refund`, `offline_refund`, `money_refund` and
//! `refund_stopped_departure`.

use busgate_domain::orders::{self, fen_to_yuan, ForceReason, MoneyRefundOutcome, OrderError, RefundPointer, RefundState};
use busgate_edge::App;
use busgate_wire::orders as orders_wire;
use serde_json::{json, Value};

use super::table::{or_dash, render};
use super::{local_time, plural, AdminOutput};

fn state(s: RefundState) -> &'static str {
    match s {
        RefundState::Pending => "pending",
        RefundState::Succeeded => "approved",
        RefundState::Failed => "rejected",
    }
}

/// Refunds: the pending ones (async refunds waiting for a decision), and unless
/// `pending_only` every refund accepted in the last `days` days (GMT+8), newest first.
pub async fn list(app: &App, pending_only: bool, days: u32) -> Result<AdminOutput, String> {
    let store = app.store.as_ref();
    let mut pointers: Vec<RefundPointer> = orders::list_pending_refunds(store).await.map_err(|e| e.to_string())?;
    if !pending_only {
        let today = app.clock.now().with_timezone(&busgate_domain::gmt8()).date_naive();
        for back in 0..days.max(1) {
            let day = today - chrono::Duration::days(back as i64);
            pointers.extend(orders::list_refunds_created_on(store, day).await.map_err(|e| e.to_string())?);
        }
    }
    pointers.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.refund_id.cmp(&b.refund_id)));
    pointers.dedup_by(|a, b| a.refund_id == b.refund_id);
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for p in &pointers {
        let Some(order) = orders::get_order(store, &p.alitrip_order_id).await.map_err(|e| e.to_string())? else { continue };
        let Some(r) = order.refund(&p.refund_id) else { continue };
        let tickets: Vec<&str> = r.lines.iter().map(|l| l.ticket_id.as_str()).collect();
        // What Fliggy was told of a rejection: the operator's words or the default.
        let rejection = (r.state == RefundState::Failed).then(|| busgate_wire::orders::refund_rejection_reason(r.fail_reason.as_deref()).to_string());
        rows.push(vec![
            r.refund_id.clone(),
            state(r.state).to_string(),
            if r.asynchronous { "async" } else { "sync" }.to_string(),
            order.alitrip_order_id.clone(),
            tickets.join(","),
            fen_to_yuan(r.total),
            local_time(r.created_at),
            or_dash(r.decided_at.map(local_time).as_deref()),
            or_dash(rejection.as_deref()),
        ]);
        items.push(json!({
            "refund_id": r.refund_id,
            "state": state(r.state),
            "asynchronous": r.asynchronous,
            "alitrip_order_id": order.alitrip_order_id,
            "agent_order_id": order.agent_order_id,
            "tickets": tickets,
            "total_fen": r.total,
            "accepted_at": local_time(r.created_at),
            "decided_at": r.decided_at.map(local_time),
            "reason": r.reason,
            "reject_reason": rejection,
        }));
    }
    let text = if rows.is_empty() {
        if pending_only {
            "no pending refunds".to_string()
        } else {
            format!("no refunds in the last {}", plural(days.max(1) as usize, "day"))
        }
    } else {
        render(&["REFUND ID", "STATE", "MODE", "ORDER", "TICKETS", "YUAN", "ACCEPTED (GMT+8)", "DECIDED", "REJECTED BECAUSE"], &rows)
    };
    Ok(AdminOutput::new(text, json!({ "refunds": items })))
}

/// The back office's decision on a pending async refund: approve (tickets refunded, seats
/// back) or reject with a reason (tickets valid again); either way one refund.confirm. The
/// same decision twice changes nothing.
pub async fn decide(app: &App, refund_id: &str, approve: bool, reason: &str) -> Result<AdminOutput, String> {
    let refund_id = refund_id.trim();
    if !approve && reason.trim().is_empty() {
        return Err("reject needs --reason (Fliggy shows it to the passenger)".into());
    }
    let reason = (!approve).then_some(reason.trim());
    let d = orders::decide_refund(app.store.as_ref(), refund_id, approve, reason, app.clock.now()).await.map_err(|e| match e {
        OrderError::NotFound => format!("refund {refund_id} not found"),
        other => format!("refund {refund_id}: {}", orders_wire::describe(&other)),
    })?;
    app.dispatch(&d.callback_ids).await;
    let verb = if approve { "approved" } else { "rejected" };
    let text = if d.repeated {
        format!("refund {refund_id} was already {verb}; nothing changed")
    } else {
        format!(
            "refund {refund_id} {verb}; order {} is now {} {}\nrefund.confirm: {} queued",
            d.alitrip_order_id,
            orders_wire::status_code(d.status),
            orders_wire::status_desc(d.status),
            d.callback_ids.len()
        )
    };
    Ok(AdminOutput::new(
        text,
        json!({
            "refund_id": refund_id,
            "state": state(d.state),
            "alitrip_order_id": d.alitrip_order_id,
            "status": orders_wire::status_code(d.status),
            "repeated": d.repeated,
            "callback_ids": d.callback_ids,
        }),
    ))
}

/// Force-majeure reasons of `--force-majeure`.
pub const FORCE_MAJEURE: [&str; 3] = ["weather", "stopped", "epidemic"];

fn order_error(order_id: &str, e: OrderError) -> String {
    match e {
        OrderError::NotFound => format!("order {order_id} not found"),
        other => format!("order {order_id}: {}", orders_wire::describe(&other)),
    }
}

fn outcome(o: &MoneyRefundOutcome, what: &str) -> AdminOutput {
    let mut text = format!(
        "{what} on order {}: {} yuan paid back (serial {}); the order is now {} {}",
        o.alitrip_order_id,
        fen_to_yuan(o.total),
        o.serial,
        orders_wire::status_code(o.status),
        orders_wire::status_desc(o.status)
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
            "status": orders_wire::status_code(o.status),
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
    let errors: Vec<(&str, String)> = r.errors.iter().map(|(o, e)| (o.as_str(), busgate_wire::orders::describe(e))).collect();
    for (order, why) in &errors {
        text.push_str(&format!("\n  order {order} not refunded: {why}"));
    }
    if !r.errors.is_empty() {
        text.push_str("\nrun the same command again to refund them (refunded tickets are not paid twice)");
    }
    let errors: Vec<Value> = errors.iter().map(|(o, why)| json!({"order_id": o, "error": why})).collect();
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
