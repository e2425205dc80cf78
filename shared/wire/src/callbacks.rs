//! The TOP calls of Fliggy's bus callbacks (fliggy-bus.md §4.1–§4.5): each
//! [`BusCallback`] the domain commits is rendered here, when it is sent, as its method and one
//! business parameter, a JSON string with snake_case keys in table order and absent values
//! omitted.

use crate::orders::{force_reason_code, money_refund_reason, refund_rejection_reason};
use busgate_domain::orders::records::wire_time;
use busgate_domain::orders::{fen_to_yuan, CertType, MoneyRefund, Order};
use busgate_domain::outbox::{BusCallback, Destination, RefundDecision};
use chrono::NaiveDate;
use serde::Serialize;

pub const BOOK_CONFIRM_METHOD: &str = "taobao.bus.agent.bookticket.confirm";
pub const BOOK_CONFIRM_PARAM: &str = "param_agent_confirm_book_r_q";
pub const REFUND_CONFIRM_METHOD: &str = "taobao.bus.agent.refund.confirm";
pub const REFUND_CONFIRM_PARAM: &str = "param_agent_confirm_return_and_refund_r_q";
pub const MULTIPLE_REFUND_METHOD: &str = "taobao.bus.agent.multiple.refund.confirm";
pub const MULTIPLE_REFUND_PARAM: &str = "param_agent_multiple_refund_r_q";
pub const ITEM_NOTIFY_METHOD: &str = "taobao.bus.item.notify";
pub const ITEM_NOTIFY_PARAM: &str = "param_top_item_change_notify_r_q";

/// The only documented refund failure code (§4.3).
pub const REFUND_FAILURE_CODE: i64 = 1905;

/// The TOP method that carries `callback`.
pub fn method(callback: &BusCallback) -> &'static str {
    match callback {
        BusCallback::Issue { .. } => BOOK_CONFIRM_METHOD,
        BusCallback::RefundDecided(_) => REFUND_CONFIRM_METHOD,
        BusCallback::MoneyRefund { .. } => MULTIPLE_REFUND_METHOD,
        BusCallback::DeparturesChanged { .. } => ITEM_NOTIFY_METHOD,
    }
}

/// `callback` as its TOP call: the method and its business parameters.
pub fn render(callback: &BusCallback) -> (&'static str, Vec<(String, String)>) {
    let (param, json) = match callback {
        BusCallback::Issue { order, success } => (BOOK_CONFIRM_PARAM, book_confirm_payload(order, *success)),
        BusCallback::RefundDecided(decision) => (REFUND_CONFIRM_PARAM, refund_confirm_payload(decision)),
        BusCallback::MoneyRefund { order, refund } => (MULTIPLE_REFUND_PARAM, multiple_refund_payload(order, refund)),
        BusCallback::DeparturesChanged { from_city, to_city, date } => (ITEM_NOTIFY_PARAM, item_notify_payload(from_city, to_city, *date)),
    };
    (method(callback), vec![(param.to_string(), json)])
}

/// The partner call a callback's destination makes, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerCall<'a> {
    /// A TOP API call: a bus callback or case action rendered (a case action's `caller_info`
    /// as the placeholder the sender fills), a stored TOP call as it is.
    Top { method: String, params: Vec<(String, String)> },
    /// A call to Fenbeitong's open API for `company`: its path and `data`.
    Fenbeitong { company: &'a str, path: &'static str, data: String },
}

/// Renders what a destination owes its partner; every destination is one partner's call.
pub fn partner_call(destination: &Destination) -> PartnerCall<'_> {
    match destination {
        Destination::Top { method, params } => PartnerCall::Top { method: method.clone(), params: params.clone() },
        Destination::Bus { callback } => {
            let (method, params) = render(callback);
            PartnerCall::Top { method: method.to_string(), params }
        }
        Destination::Case { request } => {
            PartnerCall::Top { method: crate::relation::RELATION_METHOD.to_string(), params: crate::relation::params(request) }
        }
        Destination::FenbeitongDecision { company, apply_id, approve, comment } => {
            let (path, data) = crate::fenbeitong::decision_call(apply_id, *approve, comment);
            PartnerCall::Fenbeitong { company, path, data }
        }
        // Committed before decisions were typed: the data as rendered then.
        Destination::Fenbeitong { company, data } => {
            PartnerCall::Fenbeitong { company, path: crate::fenbeitong::decision_path(data), data: data.clone() }
        }
    }
}

/// The TOP call a destination makes (`None` for a call to another partner).
pub fn top_call(destination: &Destination) -> Option<(String, Vec<(String, String)>)> {
    match partner_call(destination) {
        PartnerCall::Top { method, params } => Some((method, params)),
        PartnerCall::Fenbeitong { .. } => None,
    }
}

#[derive(Serialize)]
struct ItemNotify<'a> {
    from_city: &'a str,
    to_city: &'a str,
    from_date: String,
}

/// The `item.notify` payload (§4.5): `from_city`, `to_city`, `from_date`.
pub fn item_notify_payload(from_city: &str, to_city: &str, date: NaiveDate) -> String {
    serde_json::to_string(&ItemNotify { from_city, to_city, from_date: date.format("%Y-%m-%d").to_string() }).expect("payload serialises")
}

/// `main_biz_order_id`: Fliggy's order id as a number.
fn main_biz_order_id(alitrip_order_id: &str) -> i64 {
    // Validated as 1-19 digits ≤ i64::MAX at intake.
    alitrip_order_id.parse().unwrap_or_default()
}

#[derive(Serialize)]
struct PassengerInfo<'a> {
    agent_ticket_id: &'a str,
    passenger_name: &'a str,
    passenger_cert_type: String,
    passenger_cert_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seat_no: Option<&'a str>,
}

#[derive(Serialize)]
struct BookConfirm<'a> {
    agent_order_id: &'a str,
    bus_inner_order_id: &'a str,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_tickets_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_tickets_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_tickets_pwd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_wicket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rider_seat_numbers: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passenger_info_list: Option<Vec<PassengerInfo<'a>>>,
}

/// The `bookticket.confirm` payload (§4.2) of an order that left `2`: success with the issue
/// details when it is `3`, otherwise the three-field failure.
pub fn book_confirm_payload(order: &Order, success: bool) -> String {
    let sms = crate::orders::sms_content(order);
    let mut p = BookConfirm {
        agent_order_id: &order.agent_order_id,
        bus_inner_order_id: &order.alitrip_order_id,
        success,
        fetch_tickets_address: None,
        fetch_tickets_number: None,
        fetch_tickets_pwd: None,
        message: None,
        ticket_count: None,
        ticket_wicket: None,
        total_price: None,
        rider_seat_numbers: None,
        passenger_info_list: None,
    };
    if success {
        p.fetch_tickets_address = order.fetch_ticket_spot.as_deref();
        p.fetch_tickets_number = Some(&order.agent_order_id);
        p.fetch_tickets_pwd = order.ticket_pwd.as_deref();
        p.message = sms.as_deref();
        p.ticket_count = Some(order.passengers.len());
        p.ticket_wicket = order.ticket_wicket.as_deref();
        p.total_price = Some(order.order_amount);
        if order.all_seated() {
            p.rider_seat_numbers = Some(order.passengers.iter().filter_map(|x| x.ticket.seat_no.as_deref()).collect::<Vec<_>>().join(","));
        }
        p.passenger_info_list = Some(
            order
                .passengers
                .iter()
                .map(|x| PassengerInfo {
                    agent_ticket_id: &x.ticket.ticket_id,
                    passenger_name: &x.name,
                    passenger_cert_type: CertType::top_code(&x.cert_type),
                    passenger_cert_no: &x.cert_no,
                    seat_no: x.ticket.seat_no.as_deref(),
                })
                .collect(),
        );
    }
    serde_json::to_string(&p).expect("payload serialises")
}

#[derive(Serialize)]
struct RefundConfirm<'a> {
    agent_order_id: &'a str,
    main_biz_order_id: i64,
    agent_return_ticket_status: u8,
    agent_return_ticket_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_ticket_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passenger_id_num: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passenger_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_refund_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_refund_trans_id: Option<String>,
    agent_return_time: String,
    depart_date: String,
    agent_return_mode: &'static str,
    refund_scene: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_return_ticket_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_ext_attr: Option<String>,
}

#[derive(Serialize)]
struct ExtAttr<'a> {
    reason: &'a str,
}

/// The `refund.confirm` payload (§4.3) of a decided async refund: for its ticket on a
/// per-ticket refund, for the order otherwise.
pub fn refund_confirm_payload(decision: &RefundDecision) -> String {
    let RefundDecision { alitrip_order_id, agent_order_id, refund_id, whole_order, ticket, amount, success, reason, depart, decided_at } = decision;
    let trans_id = match ticket {
        Some(t) => format!("{refund_id}-{}", t.passenger_id),
        None => refund_id.clone(),
    };
    let payload = RefundConfirm {
        agent_order_id,
        main_biz_order_id: main_biz_order_id(alitrip_order_id),
        agent_return_ticket_status: if *success { 1 } else { 2 },
        agent_return_ticket_type: u8::from(*whole_order),
        agent_ticket_id: ticket.as_ref().map(|t| t.ticket_id.as_str()),
        passenger_id_num: ticket.as_ref().map(|t| t.cert_no.as_str()),
        passenger_name: ticket.as_ref().map(|t| t.passenger_name.as_str()),
        agent_refund_amount: success.then(|| fen_to_yuan(*amount)),
        agent_refund_trans_id: success.then_some(trans_id),
        agent_return_time: wire_time(*decided_at),
        depart_date: wire_time(*depart),
        agent_return_mode: "online",
        refund_scene: "common",
        agent_return_ticket_code: (!success).then_some(REFUND_FAILURE_CODE),
        agent_ext_attr: (!success)
            .then(|| serde_json::to_string(&ExtAttr { reason: refund_rejection_reason(reason.as_deref()) }).expect("ext attr serialises")),
    };
    serde_json::to_string(&payload).expect("payload serialises")
}

#[derive(Serialize)]
struct TicketDetail<'a> {
    agent_ticket_id: &'a str,
    passenger_id_num: &'a str,
    refund_amount: i64,
}

#[derive(Serialize)]
struct MultipleRefund<'a> {
    agent_order_id: &'a str,
    main_biz_order_id: i64,
    agent_refund_reason: &'a str,
    agent_refund_trans_no: &'a str,
    refund_scene: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_scene_official_reason_code: Option<&'static str>,
    total_refund_amount: i64,
    refund_ticket_detail_list: Vec<TicketDetail<'a>>,
}

/// The `multiple.refund.confirm` payload (§4.4) of an operator money refund.
pub fn multiple_refund_payload(order: &Order, m: &MoneyRefund) -> String {
    let p = MultipleRefund {
        agent_order_id: &order.agent_order_id,
        main_biz_order_id: main_biz_order_id(&order.alitrip_order_id),
        agent_refund_reason: money_refund_reason(m.kind, m.force, &m.reason),
        agent_refund_trans_no: &m.serial,
        refund_scene: if m.force.is_some() { "force" } else { "common" },
        refund_scene_official_reason_code: m.force.map(force_reason_code),
        total_refund_amount: m.total,
        refund_ticket_detail_list: m
            .lines
            .iter()
            .filter_map(|(tid, amount)| {
                let p = order.passenger_by_ticket(tid)?;
                Some(TicketDetail { agent_ticket_id: &p.ticket.ticket_id, passenger_id_num: &p.cert_no, refund_amount: *amount })
            })
            .collect(),
    };
    serde_json::to_string(&p).expect("payload serialises")
}
