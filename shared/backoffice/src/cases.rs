//! `busgate cases list | show | send | open`: collaboration work orders (协同工单).

use std::str::FromStr;

// An operator reads a case refusal with its §1.8 code, as Fliggy's service desk would quote it.
use busgate_domain::cases::{self, CaseDetail, CaseSummary, Owner, SendKind, SendReceipt};
use busgate_edge::App;
use busgate_wire::relation;
use serde_json::{json, Value};

use super::table::{cut, or_dash, render};
use super::{local_time, AdminOutput};

fn owner(o: Owner) -> &'static str {
    match o {
        Owner::Fliggy => "fliggy",
        Owner::Supplier => "us",
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("case serialises")
}

pub async fn list(app: &App, open_only: bool, order_id: Option<&str>) -> Result<AdminOutput, String> {
    // The domain lists urged and near-SLA cases first.
    let cases: Vec<CaseSummary> = cases::list(app.store.as_ref(), open_only, order_id).await.map_err(|e| relation::error_info(&e))?;
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.relation_case_id.clone(),
                or_dash(c.case_id.as_deref()),
                c.order_id.clone(),
                owner(c.owner).to_string(),
                c.state.to_string(),
                if c.urges_received > 0 { format!("{}!", c.urges_received) } else { "0".to_string() },
                or_dash(c.slafz.as_deref()),
                c.pending.to_string(),
                local_time(c.updated_at),
                cut(&or_dash(c.last_error.as_deref()), 60),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        format!("no {}cases{}", if open_only { "open " } else { "" }, order_id.map(|o| format!(" on order {o}")).unwrap_or_default())
    } else {
        render(&["CASE", "FLIGGY CASE", "ORDER", "OPENED BY", "STATE", "URGES", "SLA (GMT+8)", "IN FLIGHT", "UPDATED (GMT+8)", "LAST ERROR"], &rows)
    };
    Ok(AdminOutput::new(text, json!({"cases": to_json(&cases)})))
}

fn detail_text(d: &CaseDetail) -> String {
    let c = &d.case;
    let mut s = format!(
        "case {} (Fliggy case {})\n  order:        {}\n  opened by:    {} ({})\n  state:        {}\n  created:      {}\n  updated:      {}",
        c.relation_case_id,
        or_dash(c.case_id.as_deref()),
        c.order_id,
        c.opened_by,
        owner(c.owner),
        c.state,
        local_time(c.created_at),
        local_time(c.updated_at),
    );
    if let Some(cat) = &c.category_id {
        s.push_str(&format!("\n  category:     {cat}"));
    }
    if let Some(text) = c.attributes.as_ref().and_then(|a| a.content()) {
        s.push_str(&format!("\n  content:      {}", cut(text, 200)));
    }
    if let Some(sla) = &c.slafz {
        s.push_str(&format!("\n  SLA:          {sla} (GMT+8)"));
    }
    if let Some(h) = &c.fliggy_handler {
        s.push_str(&format!("\n  Fliggy agent: {h}"));
    }
    s.push_str(&format!("\n  urges:        {} received, {} sent", c.urges_received, c.urges_sent));
    if let Some(e) = &c.last_error {
        s.push_str(&format!("\n  last error:   {e}"));
    }
    let rows: Vec<Vec<String>> = d
        .history
        .iter()
        .map(|h| {
            let text = h.note.clone().or_else(|| h.attributes.as_ref().and_then(|a| a.content()).map(str::to_string));
            vec![
                h.seq.to_string(),
                local_time(h.at),
                format!("{:?}", h.kind).to_lowercase(),
                h.relation_type.to_string(),
                h.operator.clone(),
                if h.state_before == h.state_after { h.state_after.to_string() } else { format!("{} → {}", h.state_before, h.state_after) },
                cut(&or_dash(text.as_deref()), 80),
            ]
        })
        .collect();
    s.push_str("\n\nhistory:\n");
    s.push_str(&render(&["#", "AT (GMT+8)", "KIND", "TYPE", "BY", "STATE", "NOTE"], &rows));
    s
}

pub async fn show(app: &App, id: &str) -> Result<AdminOutput, String> {
    let detail = cases::show(app.store.as_ref(), id).await.map_err(|e| relation::error_info(&e))?;
    Ok(AdminOutput::new(detail_text(&detail), to_json(&detail)))
}

fn receipt(app_text: String, r: &SendReceipt) -> AdminOutput {
    let ids: Vec<String> = r.callback_id.iter().cloned().collect();
    AdminOutput::new(
        app_text,
        json!({
            "relation_case_id": r.relation_case_id,
            "relation_type": r.relation_type.to_string(),
            "state": r.state,
            "unique_id": r.unique_id,
            "callback_ids": ids,
        }),
    )
}

pub async fn send(app: &App, id: &str, kind: &str, note: &str, operator: &str) -> Result<AdminOutput, String> {
    let kind = SendKind::from_str(kind).map_err(|e| relation::error_info(&e))?;
    let r = cases::send(app.store.as_ref(), id, kind, note, operator, app.clock.now()).await.map_err(|e| relation::error_info(&e))?;
    let text = match &r.callback_id {
        Some(cb) => {
            app.dispatch(std::slice::from_ref(cb)).await;
            format!(
                "{} on case {} queued (callback {cb}, unique_id {}); the case is {} and moves when Fliggy accepts it",
                r.relation_type,
                r.relation_case_id,
                r.unique_id.as_deref().unwrap_or("-"),
                r.state
            )
        }
        None => format!("case {} is {}; nothing was sent to Fliggy", r.relation_case_id, r.state),
    };
    Ok(receipt(text, &r))
}

pub async fn open(app: &App, order_id: &str, note: &str, operator: &str) -> Result<AdminOutput, String> {
    let r = cases::open(app.store.as_ref(), order_id, note, operator, app.clock.now()).await.map_err(|e| relation::error_info(&e))?;
    if let Some(cb) = &r.callback_id {
        app.dispatch(std::slice::from_ref(cb)).await;
    }
    let text = format!(
        "case {} opened on order {order_id} ({}); startRelation queued (callback {}); it becomes OPEN when Fliggy accepts it",
        r.relation_case_id,
        r.state,
        r.callback_id.as_deref().unwrap_or("-")
    );
    Ok(receipt(text, &r))
}
