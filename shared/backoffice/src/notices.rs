//! `busgate notices list | show | approve | reject`: Fenbeitong refund/rebook approval notices.

use busgate_domain::notices::{self, ApplyType, Category, NoticeRecord, NoticeStatus, Order, OrderDetails};
use busgate_edge::App;
use serde_json::json;

use super::table::{cut, or_dash, render};
use super::{local_time, AdminOutput};

fn status(s: NoticeStatus) -> &'static str {
    match s {
        NoticeStatus::Pending => "pending",
        NoticeStatus::Approved => "approved",
        NoticeStatus::Rejected => "rejected",
    }
}

fn apply_type(t: ApplyType) -> &'static str {
    match t {
        ApplyType::Refund => "refund",
        ApplyType::Rebook => "rebook",
    }
}

fn category(c: Category) -> &'static str {
    match c {
        Category::Flight => "flight",
        Category::Hotel => "hotel",
        Category::Train => "train",
    }
}

/// `train 6064 两当县→凤县 2022-06-15 15:35`.
pub(crate) fn order_line(o: &Order) -> String {
    let what = match &o.details {
        OrderDetails::Flight { flight_code, .. } => format!("{} {flight_code}", category(o.category)),
        OrderDetails::Hotel { hotel_name, .. } => format!("{} {hotel_name}", category(o.category)),
        OrderDetails::Train { train_code, .. } => format!("{} {train_code}", category(o.category)),
    };
    let time = o.start_time.map(|t| format!(" {}", t.format("%H:%M"))).unwrap_or_default();
    format!("{what} {}→{} {}{time}", o.start_city, o.end_city, o.start_date)
}

pub async fn list(app: &App, pending_only: bool) -> Result<AdminOutput, String> {
    let records: Vec<NoticeRecord> = notices::list(app.store.as_ref(), pending_only).await.map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.apply_id.clone(),
                status(r.status).to_string(),
                r.company.clone(),
                apply_type(r.notice.apply_type).to_string(),
                r.notice.user.name.clone(),
                cut(&r.notice.original_order().map(order_line).unwrap_or_else(|| "-".into()), 50),
                local_time(r.received_at),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        format!("no {}notices", if pending_only { "pending " } else { "" })
    } else {
        render(&["APPLY ID", "STATUS", "COMPANY", "TYPE", "TRAVELLER", "ORIGINAL ORDER", "RECEIVED (GMT+8)"], &rows)
    };
    Ok(AdminOutput::new(text, json!({"notices": serde_json::to_value(&records).expect("notices serialise")})))
}

pub async fn show(app: &App, id: &str) -> Result<AdminOutput, String> {
    let lookup = super::order_lookup(app);
    let view = notices::show(app.store.as_ref(), id, &lookup).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("notice {id} not found"))?;
    let r = &view.record;
    let n = &r.notice;
    let mut s = format!(
        "notice {} ({}), {}\n  company:    {}\n  received:   {}\n  apply:      {}",
        r.apply_id,
        apply_type(n.apply_type),
        status(r.status),
        r.company,
        local_time(r.received_at),
        n.apply.name,
    );
    if let Some(reason) = &n.apply.apply_reason {
        s.push_str(&format!("\n  reason:     {reason}"));
    }
    if let Some(remark) = &n.apply.remark {
        s.push_str(&format!("\n  remark:     {remark}"));
    }
    s.push_str(&format!("\n  proposer:   {} ({}), {}", n.proposer.name, n.proposer.phone, n.proposer.all_path_dept_name));
    s.push_str(&format!("\n  traveller:  {} ({})", n.user.name, n.user.phone));
    s.push_str(&format!("\n  contact:    {} ({})", n.contacter_name, n.contacter_phone));
    for o in &n.orders {
        let kind = match o.order_type {
            notices::OrderType::Original => "original",
            notices::OrderType::New => "new",
        };
        let price = o.rebook_price.map(|p| format!(", rebook price {p} yuan")).unwrap_or_default();
        s.push_str(&format!("\n  {kind:<9}   {} (order {}){price}", order_line(o), or_dash(o.id.as_deref())));
    }
    match &view.order {
        Some(link) => s.push_str(&format!("\n  Busgate order: {} (matched by {})", link.order_id, link.matched_by)),
        None => s.push_str("\n  Busgate order: not linked"),
    }
    if let Some(d) = &r.decision {
        s.push_str(&format!(
            "\n  decision:   {} by {} at {}{} (callback {})",
            if d.approve { "approved" } else { "rejected" },
            d.operator,
            local_time(d.decided_at),
            d.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default(),
            d.callback_id
        ));
    }
    if !n.warnings.is_empty() {
        s.push_str(&format!("\n  warnings:   {}", n.warnings.join("; ")));
    }
    if !n.unknown_fields.is_empty() {
        s.push_str(&format!("\n  unknown:    {}", n.unknown_fields.join(", ")));
    }
    s.push_str(&format!("\n\nas received:\n{}", view.raw_body));
    Ok(AdminOutput::new(s, serde_json::to_value(&view).expect("notice view serialises")))
}

pub async fn decide(app: &App, id: &str, approve: bool, comment: &str, operator: &str) -> Result<AdminOutput, String> {
    let d = notices::decide(app.store.as_ref(), id, approve, comment, operator, app.clock.now()).await.map_err(|e| e.to_string())?;
    app.dispatch(std::slice::from_ref(&d.callback_id)).await;
    let text = format!(
        "notice {id} {} by {}; the decision goes to Fenbeitong (callback {})",
        if approve { "approved" } else { "rejected" },
        d.operator,
        d.callback_id
    );
    Ok(AdminOutput::new(
        text,
        json!({"apply_id": id, "decision": serde_json::to_value(&d).expect("decision serialises"), "callback_ids": [d.callback_id]}),
    ))
}
