//! `busgate outbox list | replay`: the callbacks Busgate owes its partners.

use busgate_domain::outbox::{Callback, CallbackStatus, Destination};
use busgate_edge::App;
use serde_json::{json, Value};

use super::table::{cut, or_dash, render};
use super::{local_time, plural, AdminOutput};

fn status_name(s: CallbackStatus) -> &'static str {
    match s {
        CallbackStatus::Pending => "pending",
        CallbackStatus::Delivered => "delivered",
        CallbackStatus::Dead => "dead",
    }
}

/// `TOP taobao.bus.item.notify` / `Fenbeitong <company>`. Never the parameters: the stored
/// ones hold no secret (the relation API's `caller_info` is a placeholder until sending),
/// but they are payloads, not what an operator scans a list for.
fn destination(d: &Destination) -> (String, Value) {
    match d {
        Destination::Top { method, .. } => (format!("TOP {method}"), json!({"to": "top", "method": method})),
        // A bus callback is a TOP call too; the operator sees its method either way.
        Destination::Bus { callback } => {
            let method = busgate_wire::callbacks::method(callback);
            (format!("TOP {method}"), json!({"to": "top", "method": method}))
        }
        Destination::Case { .. } => {
            let method = busgate_wire::relation::RELATION_METHOD;
            (format!("TOP {method}"), json!({"to": "top", "method": method}))
        }
        Destination::Fenbeitong { company, .. } | Destination::FenbeitongDecision { company, .. } => {
            (format!("Fenbeitong {company}"), json!({"to": "fenbeitong", "company": company}))
        }
    }
}

async fn load(app: &App, status: CallbackStatus) -> Result<Vec<Callback>, String> {
    super::views::callbacks_with(app.store.as_ref(), status).await
}

pub async fn list(app: &App, statuses: &[CallbackStatus], last: Option<usize>) -> Result<AdminOutput, String> {
    let mut all = Vec::new();
    let mut wanted = statuses.to_vec();
    wanted.dedup();
    for s in wanted {
        all.extend(load(app, s).await?);
    }
    // Oldest first, so the newest is last (next to the prompt).
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let total = all.len();
    if let Some(n) = last {
        all.drain(..all.len().saturating_sub(n));
    }
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for cb in &all {
        let (dest, dest_json) = destination(&cb.destination);
        rows.push(vec![
            cb.id.clone(),
            status_name(cb.status).to_string(),
            local_time(cb.created_at),
            cut(&cb.subject, 40),
            dest,
            cb.attempts.to_string(),
            cut(&or_dash(cb.last_error.as_deref()), 80),
        ]);
        items.push(json!({
            "id": cb.id,
            "status": cb.status,
            "subject": cb.subject,
            "destination": dest_json,
            "attempts": cb.attempts,
            "last_error": cb.last_error,
            "created_at": cb.created_at,
            "due_at": cb.due_at,
            "delivered_at": cb.delivered_at,
        }));
    }
    let text = if rows.is_empty() {
        "no callbacks".to_string()
    } else {
        let mut t = render(&["ID", "STATUS", "CREATED (GMT+8)", "SUBJECT", "DESTINATION", "ATTEMPTS", "LAST ERROR"], &rows);
        if total > rows.len() {
            t.push_str(&format!("\n({} of {total} shown, the newest)", rows.len()));
        }
        t
    };
    Ok(AdminOutput::new(text, json!({"callbacks": items, "total": total})))
}

pub async fn replay(app: &App, ids: Vec<String>, all_dead: bool) -> Result<AdminOutput, String> {
    let mut ids = ids;
    if all_dead {
        ids.extend(load(app, CallbackStatus::Dead).await?.into_iter().map(|cb| cb.id));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() && !all_dead {
        return Ok(AdminOutput::new("no callback given", json!({"replayed": [], "skipped": [], "callback_ids": []})));
    }
    // `replay` hands each one to the queue itself.
    let mut replayed = busgate_edge::outbound::delivery::replay(app, &ids).await.map_err(|e| e.to_string())?;
    // The dead-letter queue holds the same callbacks (and what SQS redrive moved there): take
    // them out, so it is empty again once everything was replayed.
    let wanted: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let drained = busgate_edge::outbound::delivery::drain_dead_letters(app, (!all_dead).then_some(&wanted)).await?;
    for id in drained.replayed.iter() {
        if !replayed.contains(id) {
            replayed.push(id.clone());
        }
    }
    ids.extend(drained.replayed.iter().filter(|id| !seen.contains(*id)).cloned());
    if replayed.is_empty() && drained.removed == 0 && all_dead {
        return Ok(AdminOutput::new(
            "no dead callbacks to replay",
            json!({"replayed": [], "skipped": [], "callback_ids": [], "dead_letters_removed": 0, "dead_letters_left": drained.left}),
        ));
    }
    let mut skipped = Vec::new();
    let mut lines = Vec::new();
    for id in &ids {
        if replayed.contains(id) {
            continue;
        }
        let why = match app.store.get(&Callback::key(id)).await.map_err(|e| e.to_string())? {
            None => "not found".to_string(),
            Some(item) => match item.decode::<Callback>() {
                Ok(cb) => format!("{}, not dead", status_name(cb.status)),
                Err(e) => e.to_string(),
            },
        };
        lines.push(format!("  {id}: skipped ({why})"));
        skipped.push(json!({"id": id, "reason": why}));
    }
    if replayed.is_empty() && !all_dead {
        return Err(format!("nothing replayed:\n{}", lines.join("\n")));
    }
    let mut text = format!("replayed {}", plural(replayed.len(), "callback"));
    for id in &replayed {
        text.push_str(&format!("\n  {id}"));
    }
    for l in lines {
        text.push('\n');
        text.push_str(&l);
    }
    text.push_str(&format!(
        "\ndead-letter queue: {} removed{}{}",
        drained.removed,
        if drained.jobs > 0 { format!(" ({} jobs queued again)", drained.jobs) } else { String::new() },
        if drained.left > 0 { format!(", {} left", drained.left) } else { String::new() }
    ));
    Ok(AdminOutput::new(
        text,
        json!({"replayed": replayed, "skipped": skipped, "callback_ids": replayed, "dead_letters_removed": drained.removed, "dead_letters_left": drained.left}),
    ))
}
