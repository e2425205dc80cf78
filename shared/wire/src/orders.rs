//! Orders and refunds as Fliggy reads them (fliggy-bus.md §2.4, §2.8, §3.5–§3.9, §3.11, §5):
//! the codes of statuses, passenger types and refusals, the answers' data fields (Strings and
//! Numbers exactly as the tables say, times GMT+8 `yyyy-MM-dd HH:mm:ss`, absent values
//! omitted) and the mapping of order refusals to `retCode`/`retDesc`.

use std::borrow::Cow;

use busgate_domain::catalogue::NotRefundable;
use busgate_domain::orders::records::wire_time;
use busgate_domain::orders::{
    ForceReason, Mismatch, MoneyRefundKind, Order, OrderAt, OrderError, OrderStatus, Passenger, PassengerType, Reason, Refund, RefundAccepted,
    RefundFee, RefusalCode, Ticket, TicketStatus,
};
use serde::Serialize;

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

/// The words Fliggy shows the passenger for a reason (`retDesc`, `bookFaildMsg`,
/// `refundDesc`); the operator's own words as they are.
pub fn reason_text(r: &Reason) -> Cow<'_, str> {
    Cow::Borrowed(match r {
        Reason::Mismatch(m) => return Cow::Owned(format!("{}: {}", RetCode::ScheduleMismatch.default_desc(), mismatch_text(m))),
        Reason::SurchargeChanged => "退票手续费已变更,请重新查询",
        Reason::OrderCancelled => "订单已取消",
        Reason::OrderClosed => "订单已关闭",
        Reason::OrderNotIssued => "订单未出票",
        Reason::OrderPaid => "订单已支付,请走退票流程",
        Reason::Ticket(TicketStatus::Refunding) => "退票中",
        Reason::Ticket(TicketStatus::Refunded) => "已退票",
        Reason::Ticket(_) => "未出票",
        Reason::NotRefundable(n) => return not_refundable_text(*n),
        Reason::RefundApproved => "退款已同意,不能再拒绝",
        Reason::RefundRejected => "退款已拒绝,不能再同意",
        Reason::NothingToRefund => "没有可退的车票",
        Reason::DepartureNotStopped => "班次未停运",
        Reason::IssueTimedOut => "出票超时",
        Reason::IssueFailed => "出票失败",
        Reason::Said(words) => words,
    })
}

/// The detail of a `1401` (§8.1: `班次信息有误,不能下单: <detail>`).
fn mismatch_text(m: &Mismatch) -> Cow<'_, str> {
    Cow::Borrowed(match m {
        Mismatch::NotOnSale => "不在售票时间内",
        Mismatch::TimeChanged => "发车时间已变更",
        Mismatch::Segment { problem } => return crate::catalogue::segment_text(problem),
        Mismatch::PickUpOutsideArea => "上车地址不在服务范围内",
        Mismatch::DropOffOutsideArea => "下车地址不在服务范围内",
        Mismatch::NoChildFare => "该区间无儿童票",
        Mismatch::PriceChanged => "价格已变更",
    })
}

/// A refusing refund tier (§3.3.1): `发车前{b}小时内不可退票` when a = 0,
/// `发车前{a}小时以上不可退票` on the last tier, `发车前{a}-{b}小时不可退票` otherwise.
fn not_refundable_text(n: NotRefundable) -> Cow<'static, str> {
    match n {
        NotRefundable::Departed => Cow::Borrowed("已发车,不可退票"),
        NotRefundable::Tier { min_hours, max_hours: None } => Cow::Owned(format!("发车前{min_hours}小时以上不可退票")),
        NotRefundable::Tier { min_hours: 0, max_hours: Some(b) } => Cow::Owned(format!("发车前{b}小时内不可退票")),
        NotRefundable::Tier { min_hours, max_hours: Some(b) } => Cow::Owned(format!("发车前{min_hours}-{b}小时不可退票")),
    }
}

/// `refund_scene_official_reason_code` of a forced refund (§4.4).
pub fn force_reason_code(f: ForceReason) -> &'static str {
    match f {
        ForceReason::Stopped => "0",
        ForceReason::Weather => "1",
        ForceReason::Epidemic => "2",
    }
}

/// `agent_refund_reason` of an operator money refund: the operator's words, or those of
/// its kind.
pub fn money_refund_reason(kind: MoneyRefundKind, force: Option<ForceReason>, words: &str) -> &str {
    if !words.trim().is_empty() {
        return words;
    }
    match (kind, force) {
        (_, Some(ForceReason::Stopped)) => "班次停运",
        (_, Some(ForceReason::Weather)) => "天气原因",
        (_, Some(ForceReason::Epidemic)) => "疫情原因",
        (MoneyRefundKind::Counter, None) => "线下退票",
        _ => "退款",
    }
}

/// The reason of a rejected async refund (`agent_ext_attr`): the operator's words or 退票失败.
pub fn refund_rejection_reason(words: Option<&str>) -> &str {
    words.filter(|w| !w.trim().is_empty()).unwrap_or("退票失败")
}

/// Why an issue failed (`bookFaildMsg`): the reason recorded, or its code's words.
pub fn book_fail_text(order: &Order) -> Option<Cow<'_, str>> {
    order.book_fail.as_ref().map(reason_text).or_else(|| order.book_fail_code.map(|c| Cow::Borrowed(refusal(c).default_desc())))
}

/// An order refusal in the bus envelope (§2.4). A busy or failed store answers
/// `system-error`; its detail is for the caller to log, never sent.
pub fn failure(e: OrderError) -> Failure {
    match e {
        OrderError::NotFound => Failure::plain(RetCode::OrderNotFound),
        OrderError::InvalidState(reason) => Failure::new(RetCode::InvalidState, reason_text(&reason)),
        OrderError::NotIssuing(s) => Failure::new(RetCode::InvalidState, not_issuing_text(s)),
        OrderError::Invalid { path, problem } => Failure::invalid(FieldError::new(path, problem)),
        OrderError::WholeOrderOnly => Failure::invalid(FieldError::new("passengerList", "该线路仅支持整单退")),
        OrderError::Refused { code, detail: None } => Failure::plain(refusal(code)),
        OrderError::Refused { code, detail: Some(reason) } => Failure::new(refusal(code), reason_text(&reason)),
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

/// A ticket (§2.8).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketView<'a> {
    ticket_id: &'a str,
    ticket_status: &'static str,
    ticket_price: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_pwd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e_ticket_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_seat_no: Option<&'a str>,
    is_refund: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_surcharge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_amount: Option<i64>,
}

impl<'a> TicketView<'a> {
    /// The ticket as it stands: number, password and QR once issued, the refund's figures
    /// while or once refunded.
    fn of(order: &'a Order, t: &'a Ticket) -> Self {
        let issued = t.status.is_issued();
        let refund = matches!(t.status, TicketStatus::Refunding | TicketStatus::Refunded);
        TicketView {
            ticket_id: &t.ticket_id,
            ticket_status: ticket_status_code(t.status),
            ticket_price: t.price,
            ticket_no: issued.then_some(t.ticket_id.as_str()),
            ticket_pwd: order.ticket_pwd.as_deref().filter(|_| issued),
            e_ticket_no: t.e_ticket_no.as_deref().filter(|_| issued),
            ticket_seat_no: t.seat_no.as_deref(),
            is_refund: t.status == TicketStatus::Refunded,
            refund_surcharge: t.refund_surcharge.filter(|_| refund),
            refund_amount: t.refund_amount.filter(|_| refund),
        }
    }

    /// The ticket as created (`1`), whatever happened to it since.
    fn as_created(t: &'a Ticket) -> Self {
        TicketView {
            ticket_id: &t.ticket_id,
            ticket_status: ticket_status_code(TicketStatus::Pending),
            ticket_price: t.price,
            ticket_no: None,
            ticket_pwd: None,
            e_ticket_no: None,
            ticket_seat_no: None,
            is_refund: false,
            refund_surcharge: None,
            refund_amount: None,
        }
    }
}

/// A passenger entry with its one ticket (§2.8).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PassengerView<'a> {
    passenger_id: &'a str,
    passenger_name: &'a str,
    passenger_type: &'static str,
    passenger_certificate_type: &'a str,
    passenger_certificate_no: &'a str,
    ticket_list: [TicketView<'a>; 1],
}

impl<'a> PassengerView<'a> {
    fn of(p: &'a Passenger, ticket: TicketView<'a>) -> Self {
        PassengerView {
            passenger_id: &p.passenger_id,
            passenger_name: &p.name,
            passenger_type: passenger_type_code(p.passenger_type),
            passenger_certificate_type: &p.cert_type,
            passenger_certificate_no: &p.cert_no,
            ticket_list: [ticket],
        }
    }
}

fn passenger_list(order: &Order) -> Vec<PassengerView<'_>> {
    order.passengers.iter().map(|p| PassengerView::of(p, TicketView::of(order, &p.ticket))).collect()
}

/// The create answer (§3.5).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created<'a> {
    agent_order_id: &'a str,
    alitrip_order_id: &'a str,
    status: &'static str,
    status_desc: &'static str,
    lock_expire_time: String,
    order_amount: i64,
    passenger_list: Vec<PassengerView<'a>>,
}

/// The create answer (§3.5): the order as created (status `1`, tickets `1`), whatever
/// happened to it since, so that a retried create gets the answer of the first.
pub fn created(order: &Order) -> Created<'_> {
    Created {
        agent_order_id: &order.agent_order_id,
        alitrip_order_id: &order.alitrip_order_id,
        status: status_code(OrderStatus::Locked),
        status_desc: status_desc(OrderStatus::Locked),
        lock_expire_time: wire_time(order.lock_expire_at),
        order_amount: order.order_amount,
        passenger_list: order.passengers.iter().map(|p| PassengerView::of(p, TicketView::as_created(&p.ticket))).collect(),
    }
}

/// `fetchTicketSpot`, `ticketWicket`, `smsContent`: once issued.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct IssueDetails<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_ticket_spot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_wicket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sms_content: Option<String>,
}

impl<'a> IssueDetails<'a> {
    fn of(order: &'a Order) -> Self {
        if !order.status.is_issued() {
            return IssueDetails::default();
        }
        IssueDetails {
            fetch_ticket_spot: order.fetch_ticket_spot.as_deref(),
            ticket_wicket: order.ticket_wicket.as_deref(),
            sms_content: sms_content(order),
        }
    }
}

/// The query answer (§3.6).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Queried<'a> {
    agent_order_id: &'a str,
    alitrip_order_id: &'a str,
    schedule_id: &'a str,
    line_id: &'a str,
    status: &'static str,
    status_desc: &'static str,
    start_time: &'a str,
    from_station_code: &'a str,
    to_station_code: &'a str,
    order_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_issue_time: Option<String>,
    #[serde(flatten)]
    issue: IssueDetails<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    book_faild_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    book_faild_msg: Option<Cow<'a, str>>,
    passenger_list: Vec<PassengerView<'a>>,
}

/// The query answer (§3.6), with the departure's current D.
pub fn queried(at: &OrderAt) -> Queried<'_> {
    let order = &at.order;
    let closed = order.status == OrderStatus::Closed;
    Queried {
        agent_order_id: &order.agent_order_id,
        alitrip_order_id: &order.alitrip_order_id,
        schedule_id: &order.schedule_id,
        line_id: &order.line_id,
        status: status_code(order.status),
        status_desc: status_desc(order.status),
        start_time: &at.start_time,
        from_station_code: &order.from_station_code,
        to_station_code: &order.to_station_code,
        order_amount: order.order_amount,
        lock_expire_time: (order.status == OrderStatus::Locked).then(|| wire_time(order.lock_expire_at)),
        agent_issue_time: order.issued_at.filter(|_| order.status.is_issued()).map(wire_time),
        issue: IssueDetails::of(order),
        book_faild_code: order.book_fail_code.filter(|_| closed).map(|c| refusal(c).code()),
        book_faild_msg: book_fail_text(order).filter(|_| closed),
        passenger_list: passenger_list(order),
    }
}

/// The confirm answer (§3.7).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed<'a> {
    alitrip_order_id: &'a str,
    agent_order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_issue_time: Option<String>,
    status: &'static str,
    status_desc: &'static str,
    #[serde(flatten)]
    issue: IssueDetails<'a>,
    passenger_list: Vec<PassengerView<'a>>,
}

/// The confirm answer (§3.7) of an order in `2`, `3`, `9` or `11`.
pub fn confirmed(order: &Order) -> Confirmed<'_> {
    let issue_time = if order.status == OrderStatus::Issuing { order.confirmed_at } else { order.issued_at.or(order.confirmed_at) };
    Confirmed {
        alitrip_order_id: &order.alitrip_order_id,
        agent_order_id: &order.agent_order_id,
        agent_issue_time: issue_time.map(wire_time),
        status: status_code(order.status),
        status_desc: status_desc(order.status),
        issue: IssueDetails::of(order),
        passenger_list: passenger_list(order),
    }
}

/// The close answer (§3.11).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closed<'a> {
    agent_order_id: &'a str,
    alitrip_order_id: &'a str,
    status: &'static str,
    status_desc: &'static str,
}

/// The close answer (§3.11).
pub fn closed(order: &Order) -> Closed<'_> {
    Closed {
        agent_order_id: &order.agent_order_id,
        alitrip_order_id: &order.alitrip_order_id,
        status: status_code(order.status),
        status_desc: status_desc(order.status),
    }
}

/// One ticket's entry of the refund fee answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketFee<'a> {
    passenger_id: &'a str,
    passenger_name: &'a str,
    passenger_certificate_type: &'a str,
    passenger_certificate_no: &'a str,
    ticket_id: &'a str,
    ticket_price: i64,
    refund_surcharge: i64,
    refund_amount: i64,
    refundable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_desc: Option<Cow<'a, str>>,
}

/// The refund fee answer (§3.8).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundFeeView<'a> {
    agent_order_id: &'a str,
    alitrip_order_id: &'a str,
    refund_mode: &'static str,
    passenger_list: Vec<TicketFee<'a>>,
}

/// The refund fee answer (§3.8): one flat entry per ticket.
pub fn refund_fee(fee: &RefundFee) -> RefundFeeView<'_> {
    let order = &fee.order;
    RefundFeeView {
        agent_order_id: &order.agent_order_id,
        alitrip_order_id: &order.alitrip_order_id,
        refund_mode: if fee.whole_order { "order" } else { "ticket" },
        passenger_list: fee
            .tickets
            .iter()
            .map(|f| {
                let p = &order.passengers[f.passenger];
                TicketFee {
                    passenger_id: &p.passenger_id,
                    passenger_name: &p.name,
                    passenger_certificate_type: &p.cert_type,
                    passenger_certificate_no: &p.cert_no,
                    ticket_id: &p.ticket.ticket_id,
                    ticket_price: p.ticket.price,
                    refund_surcharge: f.surcharge,
                    refund_amount: f.amount,
                    refundable: f.refundable,
                    refund_desc: f.reason.as_ref().map(reason_text),
                }
            })
            .collect(),
    }
}

/// One ticket's entry of the refunds/apply answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketRefunded<'a> {
    ticket_id: &'a str,
    passenger_id: &'a str,
    ticket_status: &'static str,
    refund_surcharge: i64,
    refund_amount: i64,
}

/// The refunds/apply answer (§3.9).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAcceptedView<'a> {
    agent_order_id: &'a str,
    alitrip_order_id: &'a str,
    refund_id: &'a str,
    status: &'static str,
    total_refund_amount: i64,
    passenger_list: Vec<TicketRefunded<'a>>,
}

/// The refunds/apply answer (§3.9): the refund's id, fees and amounts as accepted, the
/// current order and ticket statuses (§8.3).
pub fn refund_accepted(a: &RefundAccepted) -> RefundAcceptedView<'_> {
    let (order, refund): (&Order, &Refund) = (&a.order, &a.refund);
    RefundAcceptedView {
        agent_order_id: &order.agent_order_id,
        alitrip_order_id: &order.alitrip_order_id,
        refund_id: &refund.refund_id,
        status: status_code(order.status),
        total_refund_amount: refund.total,
        passenger_list: refund
            .lines
            .iter()
            .map(|l| TicketRefunded {
                ticket_id: &l.ticket_id,
                passenger_id: &l.passenger_id,
                ticket_status: ticket_status_code(order.passenger_by_ticket(&l.ticket_id).map(|p| p.ticket.status).unwrap_or(TicketStatus::Refunded)),
                refund_surcharge: l.surcharge,
                refund_amount: l.amount,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use busgate_domain::catalogue::SegmentError;

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
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(status_code(s)));
        }
        for t in [
            TicketStatus::Pending,
            TicketStatus::Issued,
            TicketStatus::NoTicket,
            TicketStatus::Refunding,
            TicketStatus::Refunded,
            TicketStatus::RefundFailed,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::Value::from(ticket_status_code(t)));
        }
        for p in [PassengerType::Adult, PassengerType::Child] {
            assert_eq!(passenger_type(passenger_type_code(p)), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::Value::from(passenger_type_code(p)));
        }
        for c in [RefusalCode::Stopped, RefusalCode::NotEnoughSeats, RefusalCode::UnknownSchedule, RefusalCode::Mismatch] {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::from(refusal(c).code()));
        }
    }

    #[test]
    fn every_reason_has_the_words_of_the_spec() {
        let segment = |problem| Reason::Mismatch(Mismatch::Segment { problem });
        let tier = |min_hours, max_hours| Reason::NotRefundable(NotRefundable::Tier { min_hours, max_hours });
        let cases = [
            (Reason::Mismatch(Mismatch::NotOnSale), "班次信息有误,不能下单: 不在售票时间内"),
            (Reason::Mismatch(Mismatch::TimeChanged), "班次信息有误,不能下单: 发车时间已变更"),
            (segment(SegmentError::UnknownFromStation("XX".into())), "班次信息有误,不能下单: 上车站XX不存在"),
            (segment(SegmentError::UnknownToStation("XX".into())), "班次信息有误,不能下单: 下车站XX不存在"),
            (segment(SegmentError::NotBoarding("TJ01".into())), "班次信息有误,不能下单: TJ01不可上车"),
            (segment(SegmentError::NotAlighting("SH02".into())), "班次信息有误,不能下单: SH02不可下车"),
            (segment(SegmentError::OutOfOrder), "班次信息有误,不能下单: 下车站须在上车站之后"),
            (segment(SegmentError::NoPrice), "班次信息有误,不能下单: 该区间不售票"),
            (Reason::Mismatch(Mismatch::PickUpOutsideArea), "班次信息有误,不能下单: 上车地址不在服务范围内"),
            (Reason::Mismatch(Mismatch::DropOffOutsideArea), "班次信息有误,不能下单: 下车地址不在服务范围内"),
            (Reason::Mismatch(Mismatch::NoChildFare), "班次信息有误,不能下单: 该区间无儿童票"),
            (Reason::Mismatch(Mismatch::PriceChanged), "班次信息有误,不能下单: 价格已变更"),
            (Reason::SurchargeChanged, "退票手续费已变更,请重新查询"),
            (Reason::OrderCancelled, "订单已取消"),
            (Reason::OrderClosed, "订单已关闭"),
            (Reason::OrderNotIssued, "订单未出票"),
            (Reason::OrderPaid, "订单已支付,请走退票流程"),
            (Reason::Ticket(TicketStatus::Refunding), "退票中"),
            (Reason::Ticket(TicketStatus::Refunded), "已退票"),
            (Reason::Ticket(TicketStatus::NoTicket), "未出票"),
            (Reason::NotRefundable(NotRefundable::Departed), "已发车,不可退票"),
            (tier(0, Some(3)), "发车前3小时内不可退票"),
            (tier(2, Some(12)), "发车前2-12小时不可退票"),
            (tier(72, None), "发车前72小时以上不可退票"),
            (Reason::RefundApproved, "退款已同意,不能再拒绝"),
            (Reason::RefundRejected, "退款已拒绝,不能再同意"),
            (Reason::NothingToRefund, "没有可退的车票"),
            (Reason::DepartureNotStopped, "班次未停运"),
            (Reason::IssueTimedOut, "出票超时"),
            (Reason::IssueFailed, "出票失败"),
            (Reason::Said("车辆故障".into()), "车辆故障"),
        ];
        for (reason, words) in cases {
            assert_eq!(reason_text(&reason), words, "{reason:?}");
        }
        assert_eq!(money_refund_reason(MoneyRefundKind::Counter, None, ""), "线下退票");
        assert_eq!(money_refund_reason(MoneyRefundKind::Forced, Some(ForceReason::Weather), " "), "天气原因");
        assert_eq!(money_refund_reason(MoneyRefundKind::Forced, Some(ForceReason::Stopped), "车辆故障"), "车辆故障");
        assert_eq!(refund_rejection_reason(None), "退票失败");
        assert_eq!(refund_rejection_reason(Some("已检票")), "已检票");
    }

    #[test]
    fn records_written_before_reasons_were_typed_answer_their_stored_words() {
        // A stored create refusal and a failed order as earlier versions wrote them.
        let refused: busgate_domain::orders::model::RefusedCreate = serde_json::from_str(
            r#"{"alitripOrderId":"1","fingerprint":"f","code":"1401","desc":"班次信息有误,不能下单: 价格已变更","scheduleId":"S","at":"2025-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let f = failure(OrderError::refused(refused.code, refused.detail));
        assert_eq!((f.code.code(), f.desc.as_str()), ("1401", "班次信息有误,不能下单: 价格已变更"));
        let stored = Reason::Said("出票超时".into());
        let f = failure(OrderError::state(stored));
        assert_eq!(f.desc, "出票超时");
    }

    #[test]
    fn an_order_refusal_keeps_its_reason_and_an_internal_failure_hides_its_detail() {
        let f = failure(OrderError::state(Reason::OrderCancelled));
        assert_eq!((f.code, f.desc.as_str()), (RetCode::InvalidState, "订单已取消"));
        let f = failure(OrderError::refused(RefusalCode::NotEnoughSeats, None));
        assert_eq!((f.code.code(), f.desc.as_str()), ("1104", "余票不足"));
        let f = failure(OrderError::refused(RefusalCode::Mismatch, Some(Reason::Mismatch(Mismatch::PriceChanged))));
        assert_eq!((f.code.code(), f.desc.as_str()), ("1401", "班次信息有误,不能下单: 价格已变更"));
        let f = failure(OrderError::refused(RefusalCode::Mismatch, Some(Reason::SurchargeChanged)));
        assert_eq!((f.code.code(), f.desc.as_str()), ("1401", "退票手续费已变更,请重新查询"));
        let f = failure(OrderError::WholeOrderOnly);
        assert_eq!((f.code, f.desc.as_str()), (RetCode::InvalidParameter, "passengerList: 该线路仅支持整单退"));
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
