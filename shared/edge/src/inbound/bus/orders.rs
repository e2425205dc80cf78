//! Order interfaces: create (§3.5), query (§3.6), confirm (§3.7), close (§3.11). Each parses
//! its fields (every problem → `invalid-parameter` naming the field path), calls the domain,
//! hands committed callbacks to the delivery queue, and returns the data fields.

use std::collections::BTreeMap;

use busgate_domain::orders::{self, CertType, CreateRequest, CustomAddress, OrderError, OrderStatus, PassengerInput, Reply};
use busgate_wire::fliggy::{Data, Failure};
use busgate_wire::json::{FieldError, Fields};
use busgate_wire::orders as wire;

use super::Answer;
use crate::app::App;

/// Most passengers (and tickets) of one order.
pub const MAX_PASSENGERS: usize = 100;

/// An order refusal in the bus envelope (§2.4), its detail logged when it is ours.
pub(crate) fn failure(e: OrderError) -> Failure {
    match e {
        OrderError::Store(e) => super::store_failure(e),
        e => {
            if let OrderError::Busy(why) = &e {
                tracing::warn!(reason = %why, "order busy");
            }
            wire::failure(e)
        }
    }
}

/// Hands the reply's callbacks to the queue (whatever the answer), then gives its outcome.
pub(crate) async fn finish<T>(app: &App, reply: Reply<T>) -> Result<T, Failure> {
    if !reply.callback_ids.is_empty() {
        app.dispatch(&reply.callback_ids).await;
    }
    reply.result.map_err(failure)
}

fn invalid(path: impl Into<String>, problem: impl Into<String>) -> Failure {
    Failure::invalid(FieldError::new(path, problem))
}

/// A String of at most 64 characters (names, §2.5).
fn req_name(f: &Fields<'_>, name: &str) -> Result<String, Failure> {
    let v = f.req_str(name)?;
    if v.chars().count() > 64 {
        return Err(invalid(f.path(name), "longer than 64 characters"));
    }
    Ok(v)
}

/// A certificate type: a known SPI code (§5.3).
pub(crate) fn cert_type(f: &Fields<'_>, name: &str) -> Result<Option<String>, Failure> {
    match f.opt_code(name)? {
        None => Ok(None),
        Some(c) if CertType::is_known(&c) => Ok(Some(c)),
        Some(_) => Err(invalid(f.path(name), "must be 1 (ID card), 2, 3 or 4")),
    }
}

fn custom(f: &Fields<'_>, prefix: &str) -> Result<CustomAddress, Failure> {
    Ok(CustomAddress {
        address: f.opt_str(&format!("{prefix}Address"))?,
        longitude: f.opt_str(&format!("{prefix}Longitude"))?,
        latitude: f.opt_str(&format!("{prefix}Latitude"))?,
    })
}

/// Stored, unchecked create fields (§3.5, §8.2).
const INFO_FIELDS: [&str; 10] = [
    "alipayTradeNo",
    "goodsId",
    "fromCityName",
    "fromCityCode",
    "toCityName",
    "toCityCode",
    "fromStationName",
    "toStationName",
    "contactName",
    "contactMobile",
];

/// Parses a create request (§3.5 shape checks).
pub fn parse_create(f: &Fields<'_>) -> Result<CreateRequest, Failure> {
    let alitrip_order_id = f.req_alitrip_order_id("alitripOrderId")?;
    let schedule_id = f.req_id("scheduleId")?;
    let line_id = f.opt_id("lineId")?;
    let from_date = f.req_date("fromDate")?;
    let from_time = f.req_time("fromTime")?;
    let from_station_code = f.opt_str("fromStationCode")?;
    let to_station_code = f.opt_str("toStationCode")?;
    let ticket_count = f.req_int("ticketCount", 1, MAX_PASSENGERS as u64)? as u32;
    let order_amount = f.req_fen("orderAmount")?;
    let ticket_amount = f.opt_fen("ticketAmount")?;
    let mut info = BTreeMap::new();
    for name in INFO_FIELDS {
        if let Some(v) = f.opt_str(name)? {
            info.insert(name.to_string(), v);
        }
    }
    let custom_departure = custom(f, "customDeparture")?;
    let custom_destination = custom(f, "customDestination")?;
    let list = f.opt_objects("passengerList")?.ok_or_else(|| invalid("passengerList", "required"))?;
    if list.is_empty() {
        return Err(invalid("passengerList", "required (empty)"));
    }
    if list.len() > MAX_PASSENGERS {
        return Err(invalid("passengerList", format!("at most {MAX_PASSENGERS} passengers")));
    }
    let mut passengers = Vec::with_capacity(list.len());
    for (path, map) in &list {
        let pf = Fields::nested(map, path);
        let name = req_name(&pf, "passengerName")?;
        let ct = cert_type(&pf, "passengerCertificateType")?.ok_or_else(|| invalid(pf.path("passengerCertificateType"), "required"))?;
        let no = pf.req_str("passengerCertificateNo")?;
        let cert_no = CertType::normalise_number(&ct, &no).map_err(|p| invalid(pf.path("passengerCertificateNo"), p))?;
        let passenger_type = match pf.opt_code("passengerType")? {
            None => None,
            Some(c) => Some(wire::passenger_type(&c).ok_or_else(|| invalid(pf.path("passengerType"), "must be 0 (adult) or 1 (child)"))?),
        };
        let ticket_price = pf.opt_fen("ticketPrice")?;
        passengers.push(PassengerInput { name, cert_type: ct, cert_no, passenger_type, ticket_price });
    }
    if ticket_count as usize != passengers.len() {
        return Err(invalid("ticketCount", format!("must equal the number of passengers ({})", passengers.len())));
    }
    Ok(CreateRequest {
        alitrip_order_id,
        schedule_id,
        line_id,
        from_date,
        from_time,
        from_station_code,
        to_station_code,
        ticket_count,
        order_amount,
        ticket_amount,
        custom_departure,
        custom_destination,
        info,
        passengers,
    })
}

/// §3.5 create order / lock seats.
pub async fn create(app: &App, f: Fields<'_>) -> Answer {
    let req = parse_create(&f)?;
    let order = orders::create(app.store.as_ref(), &req, app.clock.now(), &app.orders).await.map_err(failure)?;
    // Seats locked by a successful answer (a retried create, rare since Fliggy stops retrying
    // on success, counts again).
    crate::metrics::seats_sold(req.ticket_count as u64);
    Ok(Data::of(&wire::created(&order)))
}

/// `alitripOrderId` (required) and `agentOrderId` (optional) of every order lookup (§2.5).
pub(crate) fn order_ids(f: &Fields<'_>) -> Result<(String, Option<String>), Failure> {
    Ok((f.req_alitrip_order_id("alitripOrderId")?, f.opt_id("agentOrderId")?))
}

/// §3.6 order query.
pub async fn query(app: &App, f: Fields<'_>) -> Answer {
    let (id, agent) = order_ids(&f)?;
    let reply = orders::query(app.store.as_ref(), &id, agent.as_deref(), app.clock.now()).await;
    finish(app, reply).await.map(|at| Data::of(&wire::queried(&at)))
}

/// §3.7 confirm = issue tickets.
pub async fn confirm(app: &App, f: Fields<'_>) -> Answer {
    let (id, agent) = order_ids(&f)?;
    let reply = orders::confirm(app.store.as_ref(), &id, agent.as_deref(), app.clock.now(), &app.orders).await;
    let issuing = matches!(&reply.result, Ok(order) if order.status == OrderStatus::Issuing);
    let answer = finish(app, reply).await;
    if issuing && app.config.sales.issue_mode == crate::config::Mode::Async && app.config.sales.auto_issue {
        // The automatic issue job; a lost job is covered by the deadline (出票超时).
        app.queue_issue(&id).await;
    }
    answer.map(|order| Data::of(&wire::confirmed(&order)))
}

/// §3.11 close an unpaid order.
pub async fn close(app: &App, f: Fields<'_>) -> Answer {
    let (id, agent) = order_ids(&f)?;
    let reply = orders::close(app.store.as_ref(), &id, agent.as_deref(), app.clock.now()).await;
    finish(app, reply).await.map(|order| Data::of(&wire::closed(&order)))
}
