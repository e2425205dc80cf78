//! `busgate issue list | approve | refuse`: async issues (出票中) waiting for the operator's
//! decision, over the orders domain's `list_issuing` and `decide_issue`.

use busgate_domain::orders::{self, fen_to_yuan, IssueOutcome, OrderError};
use busgate_edge::App;
use busgate_wire::orders as orders_wire;
use serde_json::json;

use super::table::render;
use super::{local_time, AdminOutput};

/// Orders confirmed in async mode whose tickets wait for a decision, soonest deadline first.
pub async fn list(app: &App) -> Result<AdminOutput, String> {
    let waiting = orders::list_issuing(app.store.as_ref()).await.map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = waiting
        .iter()
        .map(|o| {
            vec![
                o.alitrip_order_id.clone(),
                o.agent_order_id.clone(),
                o.schedule_id.clone(),
                o.passengers.len().to_string(),
                fen_to_yuan(o.order_amount),
                o.issue_deadline.map(local_time).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no issue waits for a decision".to_string()
    } else {
        render(&["ORDER", "BUSGATE ID", "DEPARTURE", "TICKETS", "YUAN", "DEADLINE (GMT+8)"], &rows)
    };
    let items: Vec<_> = waiting
        .iter()
        .map(|o| {
            json!({
                "alitrip_order_id": o.alitrip_order_id,
                "agent_order_id": o.agent_order_id,
                "schedule_id": o.schedule_id,
                "tickets": o.passengers.len(),
                "order_amount_fen": o.order_amount,
                "deadline": o.issue_deadline.map(local_time),
            })
        })
        .collect();
    Ok(AdminOutput::new(text, json!({ "issues": items })))
}

/// Issues the tickets of an order waiting in `2`, or refuses them with `reason` (and, if it is
/// one, the official cause `fail_code`: 1102, 1104, 1114 or 1401). Either way one
/// `bookticket.confirm` is queued.
pub async fn decide(app: &App, order_id: &str, issue: bool, reason: &str, fail_code: Option<&str>) -> Result<AdminOutput, String> {
    let order_id = order_id.trim();
    let reason = reason.trim();
    if !issue && reason.is_empty() {
        return Err("refusing needs a reason (Fliggy shows it to the passenger)".into());
    }
    let code = match fail_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(orders_wire::refusal_from_code(c).ok_or_else(|| format!("fail code {c}: expected 1102, 1104, 1114 or 1401"))?),
        None => None,
    };
    let d =
        orders::decide_issue(app.store.as_ref(), order_id, issue, code, (!issue).then_some(reason), app.clock.now()).await.map_err(|e| match e {
            OrderError::NotFound => format!("order {order_id} not found"),
            other => format!("order {order_id}: {}", orders_wire::describe(&other)),
        })?;
    app.dispatch(&d.callback_ids).await;
    let outcome = match d.outcome {
        IssueOutcome::Issued => "issued",
        IssueOutcome::Failed => "refused",
        IssueOutcome::TimedOut => "timed out (its deadline had passed)",
    };
    Ok(AdminOutput::new(
        format!(
            "order {order_id}: {outcome}; now {} {}\nbookticket.confirm: {} queued",
            orders_wire::status_code(d.status),
            orders_wire::status_desc(d.status),
            d.callback_ids.len()
        ),
        json!({
            "alitrip_order_id": order_id,
            "outcome": match d.outcome { IssueOutcome::Issued => "issued", IssueOutcome::Failed => "refused", IssueOutcome::TimedOut => "timed_out" },
            "status": orders_wire::status_code(d.status),
            "callback_ids": d.callback_ids,
        }),
    ))
}
