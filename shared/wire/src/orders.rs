//! Orders and refunds as Fliggy reads them (fliggy-bus.md §2.4, §2.8, §3.5–§3.9, §3.11, §5):
//! the codes of statuses, passenger types and refusals, the answers' data fields (Strings and
//! Numbers exactly as the tables say, times GMT+8 `yyyy-MM-dd HH:mm:ss`, absent values
//! omitted) and the mapping of order refusals to `retCode`/`retDesc`.

use busgate_domain::orders::records::wire_time;
use busgate_domain::orders::{
    Order, OrderAt, OrderError, OrderStatus, Passenger, PassengerType, Refund, RefundAccepted, RefundFee, RefusalCode, Ticket, TicketStatus,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::fliggy::{Failure, RetCode};
use crate::json::FieldError;

/// Order status code (§5.1).
pub fn status_code(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Locked => "1",
        OrderStatus::Issuing => "2",
        OrderStatus::Issued => "3",
        OrderStatus::Closed => "4",
        OrderStatus::Cancelled => "5",
        OrderStatus::Refunding => "9",
        OrderStatus::Refunded => "11",
    }
}

/// `statusDesc` (§5.1).
pub fn status_desc(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Locked => "等待付款",
        OrderStatus::Issuing => "出票中",
        OrderStatus::Issued => "出票成功",
        OrderStatus::Closed => "订单关闭",
        OrderStatus::Cancelled => "订单取消",
        OrderStatus::Refunding => "退票中",
        OrderStatus::Refunded => "退票成功",
    }
}

/// Ticket status code (§5.2; `-1` is never emitted).
pub fn ticket_status_code(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Pending => "1",
        TicketStatus::Issued => "2",
        TicketStatus::NoTicket => "3",
        TicketStatus::Refunding => "4",
        TicketStatus::Refunded => "5",
        TicketStatus::RefundFailed => "6",
    }
}

/// Passenger type code (§5.4 family A).
pub fn passenger_type_code(t: PassengerType) -> &'static str {
    match t {
        PassengerType::Adult => "0",
        PassengerType::Child => "1",
    }
}

/// `0` or `1`; anything else (family B's `2` included) is refused.
pub fn passenger_type(code: &str) -> Option<PassengerType> {
    match code {
        "0" => Some(PassengerType::Adult),
        "1" => Some(PassengerType::Child),
        _ => None,
    }
}

/// The §2.4 code of a refused sale (also `bookFaildCode`).
pub fn refusal(code: RefusalCode) -> RetCode {
    match code {
        RefusalCode::Stopped => RetCode::Stopped,
        RefusalCode::NotEnoughSeats => RetCode::NotEnoughSeats,
        RefusalCode::UnknownSchedule => RetCode::UnknownSchedule,
        RefusalCode::Mismatch => RetCode::ScheduleMismatch,
    }
}

/// A refusal code as the operator types it (`1102`, `1104`, `1114`, `1401`).
pub fn refusal_from_code(code: &str) -> Option<RefusalCode> {
    [RefusalCode::Stopped, RefusalCode::NotEnoughSeats, RefusalCode::UnknownSchedule, RefusalCode::Mismatch]
        .into_iter()
        .find(|c| refusal(*c).code() == code)
}

/// The `retDesc` of an issue decision on an order that is not waiting for one.
fn not_issuing_text(s: OrderStatus) -> String {
    format!("订单状态为{}({}),不在出票中", status_code(s), status_desc(s))
}

/// An order refusal in the bus envelope (§2.4). A busy or failed store answers
/// `system-error`; its detail is for the caller to log, never sent.
pub fn failure(e: OrderError) -> Failure {
    match e {
        OrderError::NotFound => Failure::plain(RetCode::OrderNotFound),
        OrderError::InvalidState(text) => Failure::new(RetCode::InvalidState, text),
        OrderError::NotIssuing(s) => Failure::new(RetCode::InvalidState, not_issuing_text(s)),
        OrderError::Invalid { path, problem } => Failure::invalid(FieldError::new(path, problem)),
        OrderError::Refused { code, desc } => Failure::new(refusal(code), desc),
        OrderError::Busy(_) | OrderError::Store(_) => Failure::plain(RetCode::SystemError),
    }
}

/// How an operator reads an order refusal: Fliggy's text and code (`订单已取消 (invalid-state)`).
pub fn describe(e: &OrderError) -> String {
    match e {
        OrderError::Busy(_) | OrderError::Store(_) => format!("{e} (system-error)"),
        other => {
            let f = failure(other.clone());
            format!("{} ({})", f.desc, f.code.code())
        }
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: impl Into<Value>) {
    m.insert(k.to_string(), v.into());
}

fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v.into());
    }
}

/// A ticket (§2.8).
fn ticket(order: &Order, t: &Ticket) -> Value {
    let mut m = Map::new();
    put(&mut m, "ticketId", t.ticket_id.as_str());
    put(&mut m, "ticketStatus", ticket_status_code(t.status));
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
fn passenger(p: &Passenger, ticket: Value) -> Value {
    json!({
        "passengerId": p.passenger_id,
        "passengerName": p.name,
        "passengerType": passenger_type_code(p.passenger_type),
        "passengerCertificateType": p.cert_type,
        "passengerCertificateNo": p.cert_no,
        "ticketList": [ticket],
    })
}

fn passenger_list(order: &Order) -> Value {
    Value::Array(order.passengers.iter().map(|p| passenger(p, ticket(order, &p.ticket))).collect())
}

/// The create answer (§3.5): the order as created (status `1`, tickets `1`), whatever
/// happened to it since, so that a retried create gets the answer of the first.
pub fn created(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "status", status_code(OrderStatus::Locked));
    put(&mut m, "statusDesc", status_desc(OrderStatus::Locked));
    put(&mut m, "lockExpireTime", wire_time(order.lock_expire_at));
    put(&mut m, "orderAmount", order.order_amount);
    let list = order
        .passengers
        .iter()
        .map(|p| {
            let t = &p.ticket;
            let as_created = json!({
                "ticketId": t.ticket_id,
                "ticketStatus": ticket_status_code(TicketStatus::Pending),
                "ticketPrice": t.price,
                "isRefund": false,
            });
            passenger(p, as_created)
        })
        .collect();
    put(&mut m, "passengerList", Value::Array(list));
    m
}

/// `fetchTicketSpot`, `ticketWicket`, `smsContent` once issued.
fn issue_details(m: &mut Map<String, Value>, order: &Order) {
    put_opt(m, "fetchTicketSpot", order.fetch_ticket_spot.as_deref());
    put_opt(m, "ticketWicket", order.ticket_wicket.as_deref());
    put_opt(m, "smsContent", sms_content(order).as_deref());
}

/// The query answer (§3.6), with the departure's current D.
pub fn queried(at: &OrderAt) -> Map<String, Value> {
    let order = &at.order;
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "scheduleId", order.schedule_id.as_str());
    put(&mut m, "lineId", order.line_id.as_str());
    put(&mut m, "status", status_code(order.status));
    put(&mut m, "statusDesc", status_desc(order.status));
    put(&mut m, "startTime", at.start_time.as_str());
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
        put_opt(&mut m, "bookFaildCode", order.book_fail_code.map(|c| refusal(c).code()));
        put_opt(&mut m, "bookFaildMsg", order.book_fail_msg.as_deref());
    }
    put(&mut m, "passengerList", passenger_list(order));
    m
}

/// The confirm answer (§3.7) of an order in `2`, `3`, `9` or `11`.
pub fn confirmed(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    let issue_time = if order.status == OrderStatus::Issuing { order.confirmed_at } else { order.issued_at.or(order.confirmed_at) };
    put_opt(&mut m, "agentIssueTime", issue_time.map(wire_time));
    put(&mut m, "status", status_code(order.status));
    put(&mut m, "statusDesc", status_desc(order.status));
    if order.status.is_issued() {
        issue_details(&mut m, order);
    }
    put(&mut m, "passengerList", passenger_list(order));
    m
}

/// The close answer (§3.11).
pub fn closed(order: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "status", status_code(order.status));
    put(&mut m, "statusDesc", status_desc(order.status));
    m
}

/// The refund fee answer (§3.8): one flat entry per ticket.
pub fn refund_fee(fee: &RefundFee) -> Map<String, Value> {
    let order = &fee.order;
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "refundMode", if fee.whole_order { "order" } else { "ticket" });
    let list = fee
        .tickets
        .iter()
        .map(|f| {
            let p = &order.passengers[f.passenger];
            let mut e = json!({
                "passengerId": p.passenger_id,
                "passengerName": p.name,
                "passengerCertificateType": p.cert_type,
                "passengerCertificateNo": p.cert_no,
                "ticketId": p.ticket.ticket_id,
                "ticketPrice": p.ticket.price,
                "refundSurcharge": f.surcharge,
                "refundAmount": f.amount,
                "refundable": f.refundable,
            });
            if let Some(reason) = &f.reason {
                e["refundDesc"] = Value::String(reason.clone());
            }
            e
        })
        .collect();
    put(&mut m, "passengerList", Value::Array(list));
    m
}

/// The refunds/apply answer (§3.9): the refund's id, fees and amounts as accepted, the
/// current order and ticket statuses (§8.3).
pub fn refund_accepted(a: &RefundAccepted) -> Map<String, Value> {
    let (order, refund): (&Order, &Refund) = (&a.order, &a.refund);
    let mut m = Map::new();
    put(&mut m, "agentOrderId", order.agent_order_id.as_str());
    put(&mut m, "alitripOrderId", order.alitrip_order_id.as_str());
    put(&mut m, "refundId", refund.refund_id.as_str());
    put(&mut m, "status", status_code(order.status));
    put(&mut m, "totalRefundAmount", refund.total);
    let list: Vec<Value> = refund
        .lines
        .iter()
        .map(|l| {
            let status = order.passenger_by_ticket(&l.ticket_id).map(|p| p.ticket.status).unwrap_or(TicketStatus::Refunded);
            json!({
                "ticketId": l.ticket_id,
                "passengerId": l.passenger_id,
                "ticketStatus": ticket_status_code(status),
                "refundSurcharge": l.surcharge,
                "refundAmount": l.amount,
            })
        })
        .collect();
    put(&mut m, "passengerList", Value::Array(list));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_code_reads_back_and_nothing_else_does() {
        for code in [RefusalCode::Stopped, RefusalCode::NotEnoughSeats, RefusalCode::UnknownSchedule, RefusalCode::Mismatch] {
            assert_eq!(refusal_from_code(refusal(code).code()), Some(code));
        }
        for other in ["", "1101", "system-error", "0"] {
            assert_eq!(refusal_from_code(other), None, "{other}");
        }
    }

    #[test]
    fn stored_spellings_of_statuses_are_their_fliggy_codes() {
        // The records keep the §5 codes (serde renames in the domain): the two must agree.
        for s in [
            OrderStatus::Locked,
            OrderStatus::Issuing,
            OrderStatus::Issued,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
            OrderStatus::Refunding,
            OrderStatus::Refunded,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), Value::from(status_code(s)));
        }
        for t in [
            TicketStatus::Pending,
            TicketStatus::Issued,
            TicketStatus::NoTicket,
            TicketStatus::Refunding,
            TicketStatus::Refunded,
            TicketStatus::RefundFailed,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), Value::from(ticket_status_code(t)));
        }
        for p in [PassengerType::Adult, PassengerType::Child] {
            assert_eq!(passenger_type(passenger_type_code(p)), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), Value::from(passenger_type_code(p)));
        }
        for c in [RefusalCode::Stopped, RefusalCode::NotEnoughSeats, RefusalCode::UnknownSchedule, RefusalCode::Mismatch] {
            assert_eq!(serde_json::to_value(c).unwrap(), Value::from(refusal(c).code()));
        }
    }

    #[test]
    fn an_order_refusal_keeps_its_reason_and_an_internal_failure_hides_its_detail() {
        let f = failure(OrderError::state("订单已取消"));
        assert_eq!((f.code, f.desc.as_str()), (RetCode::InvalidState, "订单已取消"));
        let f = failure(OrderError::refused(RefusalCode::NotEnoughSeats, "余票不足"));
        assert_eq!((f.code.code(), f.desc.as_str()), ("1104", "余票不足"));
        let f = failure(OrderError::NotIssuing(OrderStatus::Issued));
        assert_eq!(f.desc, "订单状态为3(出票成功),不在出票中");
        let f = failure(OrderError::Busy("twin in flight".into()));
        assert_eq!((f.code, f.desc.as_str()), (RetCode::SystemError, RetCode::SystemError.default_desc()));
        assert_eq!(describe(&OrderError::NotFound), "订单不存在 (order-not-found)");
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sms<'a> {
    driver_contact_phone: &'a str,
    identification_code: &'a str,
}

/// `smsContent` of an issued order (§3.7): `{"driverContactPhone":…,"identificationCode":
/// <boarding code>}` when its line has a driver phone (as rendered at issue, for orders that
/// kept the text).
pub fn sms_content(order: &Order) -> Option<String> {
    if let Some(text) = &order.sms_content {
        return Some(text.clone());
    }
    let (phone, code) = (order.driver_contact_phone.as_deref()?, order.ticket_pwd.as_deref()?);
    Some(serde_json::to_string(&Sms { driver_contact_phone: phone, identification_code: code }).expect("sms serialises"))
}
