//! The data fields of the order answers (§2.8, §3.5–§3.7, §3.9, §3.11): Strings and Numbers
//! exactly as the tables say, times GMT+8 `yyyy-MM-dd HH:mm:ss`, absent values omitted.

use serde_json::{json, Map, Value};

use super::model::{Order, OrderStatus, Passenger, Refund, Ticket, TicketStatus};
use super::records::wire_time;

fn put(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_string(), v.into());
}

fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v.into());
    }
}

/// A ticket (§2.8).
pub fn ticket(order: &Order, t: &Ticket) -> Value {
    let mut m = Map::new();
    put(&mut m, "ticketId", t.ticket_id.as_str());
    put(&mut m, "ticketStatus", t.status.code());
    put(&mut m, "ticketPrice", t.price);
    if t.status.is_issued() {
        put(&mut m, "ticketNo", t.ticket_id.as_str());
        put_opt(&mut m, "ticketPwd", order.ticket_pwd.as_deref());
        put_opt(&mut m, "eTicketNo", t.e_ticket_no.as_deref());
    }
    put_opt(&mut m, "ticketSeatNo", t.seat_no.as_deref());
    put(&mut m, "isRefund", t.status == TicketStatus::Refunded);
    if matches!(t.status, TicketStatus::Refunding | TicketStatus::Refunded) {
        put_opt(&mut m, "refundSurcharge", t.refund_surcharge);
        put_opt(&mut m, "refundAmount", t.refund_amount);
    }
    Value::Object(m)
}

/// A passenger entry with its one ticket (§2.8).
pub fn passenger(order: &Order, p: &Passenger) -> Value {
    json!({
        "passengerId": p.passenger_id,
        "passengerName": p.name,
        "passengerType": p.passenger_type.code(),
        "passengerCertificateType": p.cert_type,
        "passengerCertificateNo": p.cert_no,
        "ticketList": [ticket(order, &p.ticket)],
    })
}

pub fn passenger_list(order: &Order) -> Value {
    Value::Array(order.passengers.iter().map(|p| passenger(order, p)).collect())
}

/// The create answer (§3.5), as stored with the order: status `1`, tickets `1`.
pub fn create_answer(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "status", OrderStatus::Locked.code());
    put(&mut m, "statusDesc", OrderStatus::Locked.desc());
    put(&mut m, "lockExpireTime", wire_time(order.lock_expire_at));
    put(&mut m, "orderAmount", order.order_amount);
    put(&mut m, "passengerList", passenger_list(order));
    m
}

/// `fetchTicketSpot`, `ticketWicket`, `smsContent` once issued.
fn issue_details(m: &mut Map<String, Value>, order: &Order) {
    put_opt(m, "fetchTicketSpot", order.fetch_ticket_spot.as_deref());
    put_opt(m, "ticketWicket", order.ticket_wicket.as_deref());
    put_opt(m, "smsContent", order.sms_content.as_deref());
}

/// The query answer (§3.6); `start_time` is the current D.
pub fn query_answer(order: &Order, start_time: &str) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "scheduleId", order.schedule_id.as_str());
    put(&mut m, "lineId", order.line_id.as_str());
    put(&mut m, "status", order.status.code());
    put(&mut m, "statusDesc", order.status.desc());
    put(&mut m, "startTime", start_time);
    put(&mut m, "fromStationCode", order.from_station_code.as_str());
    put(&mut m, "toStationCode", order.to_station_code.as_str());
    put(&mut m, "orderAmount", order.order_amount);
    if order.status == OrderStatus::Locked {
        put(&mut m, "lockExpireTime", wire_time(order.lock_expire_at));
    }
    if order.status.is_issued() {
        put_opt(&mut m, "agentIssueTime", order.issued_at.map(wire_time));
        issue_details(&mut m, order);
    }
    if order.status == OrderStatus::Closed {
        put_opt(&mut m, "bookFaildCode", order.book_fail_code.map(|c| c.code()));
        put_opt(&mut m, "bookFaildMsg", order.book_fail_msg.as_deref());
    }
    put(&mut m, "passengerList", passenger_list(order));
    m
}

/// The confirm answer (§3.7) of an order in `2`, `3`, `9` or `11`.
pub fn confirm_answer(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    let issue_time = if order.status == OrderStatus::Issuing { order.confirmed_at } else { order.issued_at.or(order.confirmed_at) };
    put_opt(&mut m, "agentIssueTime", issue_time.map(wire_time));
    put(&mut m, "status", order.status.code());
    put(&mut m, "statusDesc", order.status.desc());
    if order.status.is_issued() {
        issue_details(&mut m, order);
    }
    put(&mut m, "passengerList", passenger_list(order));
    m
}

/// The close answer (§3.11).
pub fn close_answer(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "status", order.status.code());
    put(&mut m, "statusDesc", order.status.desc());
    m
}

/// The refunds/apply answer (§3.9): the refund's id, fees and amounts as accepted, the
/// current order and ticket statuses (§8.3).
pub fn refund_answer(order: &Order, refund: &Refund) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "refundId", refund.refund_id.as_str());
    put(&mut m, "status", order.status.code());
    put(&mut m, "totalRefundAmount", refund.total);
    let list: Vec<Value> = refund
        .lines
        .iter()
        .map(|l| {
            let status = order.passenger_by_ticket(&l.ticket_id).map(|p| p.ticket.status).unwrap_or(TicketStatus::Refunded);
            json!({
                "ticketId": l.ticket_id,
                "passengerId": l.passenger_id,
                "ticketStatus": status.code(),
                "refundSurcharge": l.surcharge,
                "refundAmount": l.amount,
            })
        })
        .collect();
    put(&mut m, "passengerList", Value::Array(list));
    m
}
