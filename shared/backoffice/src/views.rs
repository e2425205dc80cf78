//! Typed reads of the back office: what the console shows and `busgate orders …`,
//! `busgate issue list` print. Each one is a few store reads over the domain's records; no
//! decision is taken here (the commands in [`crate::execute`] change state).

use busgate_domain::catalogue::records::{line_month_index_pk, load_catalogue, load_departure, month_of, STOPPED_INDEX_PK};
use busgate_domain::catalogue::{Departure, SaleState};
use busgate_domain::orders::{self, Order, OrderStatus, RefundState};
use busgate_domain::outbox::{Callback, CallbackStatus};
use busgate_domain::store::Store;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// One departure as the dispatcher sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DepartureRow {
    pub schedule_id: String,
    pub line_id: String,
    pub line_name: String,
    pub date: NaiveDate,
    /// `08:30` or `08:30-09:30` (a window).
    pub time: String,
    pub seats: u32,
    pub left: i64,
    pub sold: i64,
    /// Lowest adult fare of the line, fen.
    pub price_fen: Option<i64>,
    pub sale: SaleLabel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

/// Where a departure's sales stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleLabel {
    OnSale,
    Stopped,
    NotYetOpen,
    Closed,
}

impl SaleLabel {
    fn of(d: &Departure, now: DateTime<Utc>) -> Self {
        match d.sale_state(now) {
            SaleState::OnSale => SaleLabel::OnSale,
            SaleState::Stopped => SaleLabel::Stopped,
            SaleState::NotYetOpen => SaleLabel::NotYetOpen,
            SaleState::Closed => SaleLabel::Closed,
        }
    }
}

fn row(d: &Departure, left: i64, now: DateTime<Utc>) -> DepartureRow {
    let time = match d.time {
        busgate_domain::catalogue::DepartureTime::Fixed(t) => t.format("%H:%M").to_string(),
        busgate_domain::catalogue::DepartureTime::Window { begin, end } => format!("{}-{}", begin.format("%H:%M"), end.format("%H:%M")),
    };
    DepartureRow {
        schedule_id: d.schedule_id.clone(),
        line_id: d.line.id.clone(),
        line_name: d.line.name.clone(),
        date: d.from_date,
        time,
        seats: d.seats,
        left,
        sold: i64::from(d.seats) - left,
        price_fen: d.line.segment_prices.iter().map(|p| p.price).min(),
        sale: SaleLabel::of(d, now),
        stop_reason: d.stop.as_ref().map(|s| s.reason.clone()),
    }
}

/// Every departure (stopped ones included) on these GMT+8 dates, by date, time and line: one
/// catalogue query, one index query per line and date, one stopped-index query per date,
/// then one query per departure for its seats left.
pub async fn departures_on(store: &dyn Store, dates: &[NaiveDate], now: DateTime<Utc>) -> Result<Vec<DepartureRow>, String> {
    let catalogue = load_catalogue(store).await.map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    for date in dates {
        let day = date.format("%Y-%m-%d").to_string();
        for (line, _) in &catalogue.lines {
            for item in
                store.query_index(&line_month_index_pk(&line.line.id, &month_of(*date)), &format!("{day}#D#")).await.map_err(|e| e.to_string())?
            {
                ids.push(item.key.pk.trim_start_matches("DEP#").to_string());
            }
        }
        for item in store.query_index(STOPPED_INDEX_PK, &format!("{day}T")).await.map_err(|e| e.to_string())? {
            ids.push(item.key.pk.trim_start_matches("DEP#").to_string());
        }
    }
    ids.sort();
    ids.dedup();
    let mut rows = Vec::new();
    for id in ids {
        if let Some((d, left)) = load_departure(store, &id).await.map_err(|e| e.to_string())? {
            rows.push(row(&d, left, now));
        }
    }
    rows.sort_by(|a, b| (a.date, &a.time, &a.line_id, &a.schedule_id).cmp(&(b.date, &b.time, &b.line_id, &b.schedule_id)));
    Ok(rows)
}

/// Today and tomorrow in GMT+8.
pub fn today_and_tomorrow(now: DateTime<Utc>) -> [NaiveDate; 2] {
    let today = now.with_timezone(&busgate_domain::gmt8()).date_naive();
    [today, today + Duration::days(1)]
}

/// How far back a search without a date looks (GMT+8 days, today included).
pub const SEARCH_DAYS: i64 = 7;

/// Orders matching `q`: a Fliggy order id (exact), a Busgate order id (its creation day is in
/// it), or else part of a passenger's or the contact's name or phone, or of either id, among
/// the orders created on `day` (or in the last [`SEARCH_DAYS`] days). Empty `q`: every order
/// of that day (today without one). Newest first.
pub async fn search_orders(store: &dyn Store, q: &str, day: Option<NaiveDate>, now: DateTime<Utc>) -> Result<Vec<Order>, String> {
    let q = q.trim();
    let err = |e: busgate_domain::store::StoreError| e.to_string();
    if !q.is_empty() && q.len() <= 19 && q.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(o) = orders::get_order(store, q).await.map_err(err)? {
            return Ok(vec![o]);
        }
    }
    if let Some(o) = order_by_agent_id(store, q).await? {
        return Ok(vec![o]);
    }
    let today = now.with_timezone(&busgate_domain::gmt8()).date_naive();
    let days: Vec<NaiveDate> = match (day, q.is_empty()) {
        (Some(d), _) => vec![d],
        (None, true) => vec![today],
        (None, false) => (0..SEARCH_DAYS).map(|b| today - Duration::days(b)).collect(),
    };
    let mut found = Vec::new();
    for d in days {
        for o in orders::orders_created_on(store, d).await.map_err(err)? {
            if q.is_empty() || matches(&o, q) {
                found.push(o);
            }
        }
    }
    found.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    Ok(found)
}

fn matches(o: &Order, q: &str) -> bool {
    o.alitrip_order_id.contains(q)
        || o.agent_order_id.contains(q)
        || o.passengers.iter().any(|p| p.name.contains(q))
        || ["contactName", "contactMobile"].iter().any(|k| o.info.get(*k).is_some_and(|v| v.contains(q)))
}

/// The order with this Busgate id (`BG` + yyMMdd + sequence): one index query of its day.
pub async fn order_by_agent_id(store: &dyn Store, agent_order_id: &str) -> Result<Option<Order>, String> {
    let Some(day) = agent_order_id
        .strip_prefix("BG")
        .filter(|rest| rest.len() > 6 && rest.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|rest| NaiveDate::parse_from_str(&format!("20{}", &rest[..6]), "%Y%m%d").ok())
    else {
        return Ok(None);
    };
    // The id's claim points at the order (one read); orders from before ids were claimed are
    // found among the orders of the id's day.
    if let Some(alitrip) = orders::alitrip_id_of(store, agent_order_id).await.map_err(|e| e.to_string())? {
        return orders::get_order(store, &alitrip).await.map_err(|e| e.to_string());
    }
    let found = orders::orders_created_on(store, day).await.map_err(|e| e.to_string())?;
    Ok(found.into_iter().find(|o| o.agent_order_id == agent_order_id))
}

/// One step of an order's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub what: String,
}

/// An order with its history, its callbacks and its departure.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    pub order: Order,
    pub history: Vec<HistoryEntry>,
    /// Every callback about this order, oldest first.
    pub callbacks: Vec<Callback>,
    pub departure: Option<DepartureRow>,
}

/// The history an order's record holds, oldest first.
pub fn history(o: &Order) -> Vec<HistoryEntry> {
    let mut h = vec![HistoryEntry { at: o.created_at, what: format!("下单锁座 {} 张", o.passengers.len()) }];
    if let Some(t) = o.confirmed_at {
        h.push(HistoryEntry { at: t, what: "支付确认(出票请求)".into() });
    }
    if let Some(t) = o.issued_at {
        h.push(HistoryEntry { at: t, what: "出票成功".into() });
    }
    if let Some(t) = o.ended_at {
        let why = busgate_wire::orders::book_fail_text(o).map(|m| format!(":{m}")).unwrap_or_default();
        let what = match o.status {
            OrderStatus::Cancelled => "订单取消",
            _ => "订单关闭",
        };
        h.push(HistoryEntry { at: t, what: format!("{what}{why}") });
    }
    for r in &o.refunds {
        let tickets: Vec<&str> = r.lines.iter().map(|l| l.ticket_id.as_str()).collect();
        h.push(HistoryEntry {
            at: r.created_at,
            what: format!("退票申请 {} ({}{})", r.refund_id, tickets.join(", "), if r.asynchronous { ",待审核" } else { "" }),
        });
        if let Some(t) = r.decided_at {
            let what = match r.state {
                RefundState::Succeeded => format!("退票成功 {},退款 {} 元", r.refund_id, orders::fen_to_yuan(r.total)),
                RefundState::Failed => {
                    format!("退票失败 {}:{}", r.refund_id, busgate_wire::orders::refund_rejection_reason(r.fail_reason.as_deref()))
                }
                RefundState::Pending => continue,
            };
            h.push(HistoryEntry { at: t, what });
        }
    }
    for m in &o.money_refunds {
        let reason = busgate_wire::orders::money_refund_reason(m.kind, m.force, &m.reason);
        h.push(HistoryEntry { at: m.at, what: format!("退款 {} 元 ({}):{}", orders::fen_to_yuan(m.total), m.serial, reason) });
    }
    h.sort_by_key(|e| e.at);
    h
}

/// The callbacks of one status, oldest first (one index query).
pub async fn callbacks_with(store: &dyn Store, status: CallbackStatus) -> Result<Vec<Callback>, String> {
    let items = store.query_index(Callback::index_pk(status), "").await.map_err(|e| e.to_string())?;
    items.iter().map(|i| i.decode::<Callback>().map_err(|e| e.to_string())).collect()
}

/// Callbacks about an order. The outbox is indexed by status, not by order, so this reads the
/// three status partitions (fine for a back office; an order index would make it one query).
pub async fn callbacks_of(store: &dyn Store, alitrip_order_id: &str) -> Result<Vec<Callback>, String> {
    let subject = format!("order {alitrip_order_id}");
    let mut out = Vec::new();
    for status in [CallbackStatus::Pending, CallbackStatus::Dead, CallbackStatus::Delivered] {
        out.extend(callbacks_with(store, status).await?.into_iter().filter(|cb| cb.subject == subject));
    }
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// An order by its Busgate or Fliggy id, with what the detail page shows.
pub async fn order_detail(store: &dyn Store, id: &str, now: DateTime<Utc>) -> Result<Option<OrderDetail>, String> {
    let id = id.trim();
    let order = match order_by_agent_id(store, id).await? {
        Some(o) => Some(o),
        None if id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 19 => {
            orders::get_order(store, id).await.map_err(|e| e.to_string())?
        }
        None => None,
    };
    let Some(order) = order else { return Ok(None) };
    let departure = load_departure(store, &order.schedule_id).await.map_err(|e| e.to_string())?.map(|(d, left)| row(&d, left, now));
    let callbacks = callbacks_of(store, &order.alitrip_order_id).await?;
    Ok(Some(OrderDetail { history: history(&order), order, callbacks, departure }))
}

/// `110101********1234`: an ID number with all but its first six and last four characters
/// hidden (shorter ones keep only their last two).
pub fn mask_id(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 12 { (6, 4) } else { (0, 2.min(n)) };
    chars.iter().enumerate().map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' }).collect()
}

/// `138****5678`: a phone number with its middle hidden.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let n = chars.len();
    if n < 7 {
        return "*".repeat(n);
    }
    chars.iter().enumerate().map(|(i, c)| if i < 3 || i >= n - 4 { *c } else { '*' }).collect()
}

/// Callback delivery at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub pending: usize,
    /// Pending callbacks whose next attempt is over a minute late.
    pub overdue: usize,
    pub dead: usize,
    /// The latest callbacks that failed at least once (pending or dead), newest first.
    pub recent_errors: Vec<Callback>,
}

/// Reads the pending and dead callbacks (two index queries).
pub async fn health(store: &dyn Store, now: DateTime<Utc>) -> Result<Health, String> {
    let pending = callbacks_with(store, CallbackStatus::Pending).await?;
    let dead = callbacks_with(store, CallbackStatus::Dead).await?;
    let overdue = pending.iter().filter(|c| c.due_at.is_some_and(|d| d + Duration::minutes(1) < now)).count();
    let mut recent_errors: Vec<Callback> = pending.iter().chain(dead.iter()).filter(|c| c.last_error.is_some()).cloned().collect();
    recent_errors.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    recent_errors.truncate(20);
    Ok(Health { pending: pending.len(), overdue, dead: dead.len(), recent_errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_and_phones_are_masked() {
        assert_eq!(mask_id("110101199003071234"), "110101********1234");
        assert_eq!(mask_id("E12345678"), "*******78");
        assert_eq!(mask_id(""), "");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
    }
}
