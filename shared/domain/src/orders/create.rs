//! Create order / lock seats (fliggy-bus.md §3.5), with the idempotency of §2.7 and §8.2.

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalogue::{parse_coordinate, seats_key, Departure, LoadedDeparture, Segment, Station, StationType};
use crate::store::{Condition, Item, Store, StoreError, Write};

use super::error::OrderError;
use super::model::{Address, Order, OrderStatus, Passenger, PassengerType, RefusalCode, RefusedCreate, Ticket, TicketStatus};
use super::reason::{Mismatch, Reason};
use super::records::{self, load_record, membership_item, order_item, pause, refused_item, OrderRecord, Settings, MAX_ATTEMPTS};

/// A custom pick-up or drop-off point as sent (each part optional in the request; all three
/// are required when the station is an area).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomAddress {
    pub address: Option<String>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

/// One passenger of a create request, already checked for shape (§5.3, §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassengerInput {
    pub name: String,
    /// SPI code `1`–`4`.
    pub cert_type: String,
    /// Normalised (ID letters upper case).
    pub cert_no: String,
    /// `None` = absent (adult).
    pub passenger_type: Option<PassengerType>,
    pub ticket_price: Option<i64>,
}

/// A create request whose shape the edge has checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub alitrip_order_id: String,
    pub schedule_id: String,
    pub line_id: Option<String>,
    pub from_date: NaiveDate,
    /// Seconds count (`HH:mm` = `HH:mm:00`).
    pub from_time: NaiveTime,
    pub from_station_code: Option<String>,
    pub to_station_code: Option<String>,
    pub ticket_count: u32,
    pub order_amount: i64,
    pub ticket_amount: Option<i64>,
    pub custom_departure: CustomAddress,
    pub custom_destination: CustomAddress,
    /// Stored, unchecked, not in the fingerprint (§8.2): `alipayTradeNo`, `goodsId`,
    /// city/station names and codes, `contactName`, `contactMobile`.
    pub info: BTreeMap<String, String>,
    pub passengers: Vec<PassengerInput>,
}

/// A JSON object with keys inserted in sorted order (canonical whatever the map flavour).
fn canonical(mut pairs: Vec<(&str, Value)>) -> Value {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

impl CreateRequest {
    /// The canonical JSON of the fields that define the booking (§2.7, §8.2): sorted keys, no
    /// whitespace, times `HH:mm:ss`, codes as Strings, ID letters upper case, absent optionals
    /// left out, passengers in request order.
    pub fn canonical_json(&self) -> String {
        let mut pairs: Vec<(&str, Value)> = vec![
            ("scheduleId", self.schedule_id.clone().into()),
            ("fromDate", self.from_date.format("%Y-%m-%d").to_string().into()),
            ("fromTime", self.from_time.format("%H:%M:%S").to_string().into()),
            ("ticketCount", self.ticket_count.into()),
            ("orderAmount", self.order_amount.into()),
        ];
        let opt = |pairs: &mut Vec<(&str, Value)>, k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                pairs.push((k, v.clone().into()));
            }
        };
        opt(&mut pairs, "lineId", &self.line_id);
        opt(&mut pairs, "fromStationCode", &self.from_station_code);
        opt(&mut pairs, "toStationCode", &self.to_station_code);
        opt(&mut pairs, "customDepartureAddress", &self.custom_departure.address);
        opt(&mut pairs, "customDepartureLongitude", &self.custom_departure.longitude);
        opt(&mut pairs, "customDepartureLatitude", &self.custom_departure.latitude);
        opt(&mut pairs, "customDestinationAddress", &self.custom_destination.address);
        opt(&mut pairs, "customDestinationLongitude", &self.custom_destination.longitude);
        opt(&mut pairs, "customDestinationLatitude", &self.custom_destination.latitude);
        let passengers: Vec<Value> = self
            .passengers
            .iter()
            .map(|p| {
                let mut pp: Vec<(&str, Value)> = vec![
                    ("passengerName", p.name.clone().into()),
                    ("passengerCertificateType", p.cert_type.clone().into()),
                    ("passengerCertificateNo", p.cert_no.to_ascii_uppercase().into()),
                ];
                if let Some(t) = p.passenger_type {
                    // Spelled as the request spelled it; stored fingerprints depend on it.
                    let spelled = match t {
                        PassengerType::Adult => "0",
                        PassengerType::Child => "1",
                    };
                    pp.push(("passengerType", spelled.into()));
                }
                if let Some(price) = p.ticket_price {
                    pp.push(("ticketPrice", price.into()));
                }
                canonical(pp)
            })
            .collect();
        pairs.push(("passengerList", Value::Array(passengers)));
        serde_json::to_string(&canonical(pairs)).expect("JSON renders")
    }

    /// SHA-256 (hex) of [`Self::canonical_json`].
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.canonical_json().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An accepted create: the segment, each passenger's fare, the custom points kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub segment: Segment,
    pub fares: Vec<i64>,
    pub departure_point: Option<Address>,
    pub destination_point: Option<Address>,
}

/// What the rules decide for a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Lock the seats.
    Accept(Box<Accepted>),
    /// A stored refusal, with what did not match.
    Refuse(RefusalCode, Option<Mismatch>),
    /// `invalid-parameter`, never stored.
    Invalid(OrderError),
}

fn mismatch(detail: Mismatch) -> Decision {
    Decision::Refuse(RefusalCode::Mismatch, Some(detail))
}

/// The custom point of an area station (§3.5): all three parts required, the coordinates
/// decimal degrees, the point inside the geofence (boundary included). Ignored for a fixed
/// point.
fn custom_point(station: &Station, a: &CustomAddress, prefix: &str, outside: Mismatch) -> Result<Option<Address>, Decision> {
    if station.station_type != StationType::Area {
        return Ok(None);
    }
    let need = |v: &Option<String>, suffix: &str| {
        v.clone().ok_or_else(|| {
            Decision::Invalid(OrderError::invalid(format!("{prefix}{suffix}"), format!("required: station {} is an area", station.station_code)))
        })
    };
    let address = need(&a.address, "Address")?;
    let lng_text = need(&a.longitude, "Longitude")?;
    let lat_text = need(&a.latitude, "Latitude")?;
    let lng = parse_coordinate(&lng_text)
        .filter(|v| crate::catalogue::geo::valid_longitude(*v))
        .ok_or_else(|| Decision::Invalid(OrderError::invalid(format!("{prefix}Longitude"), "must be decimal degrees")))?;
    let lat = parse_coordinate(&lat_text)
        .filter(|v| crate::catalogue::geo::valid_latitude(*v))
        .ok_or_else(|| Decision::Invalid(OrderError::invalid(format!("{prefix}Latitude"), "must be decimal degrees")))?;
    if !station.geofence_contains(lng, lat) {
        return Err(mismatch(outside));
    }
    Ok(Some(Address { address, longitude: lng_text, latitude: lat_text }))
}

/// The check order of §3.5 after the shape and the fingerprint: `1114` → `1102` → `1401` not
/// on sale → `1401` date/time → `1401` segment → custom addresses → certificate types →
/// `1401` child fare → `1401` fares → `1104`.
pub fn decide(req: &CreateRequest, loaded: Option<&LoadedDeparture>, now: DateTime<Utc>) -> Decision {
    let Some(loaded) = loaded else {
        return Decision::Refuse(RefusalCode::UnknownSchedule, None);
    };
    let dep = &loaded.departure;
    if req.line_id.as_deref().is_some_and(|id| id != dep.line.id) {
        return Decision::Refuse(RefusalCode::UnknownSchedule, None);
    }
    if dep.is_stopped() {
        return Decision::Refuse(RefusalCode::Stopped, None);
    }
    if !dep.on_sale(now) {
        return mismatch(Mismatch::NotOnSale);
    }
    if !dep.matches_request_time(req.from_date, req.from_time) {
        return mismatch(Mismatch::TimeChanged);
    }
    let segment = match dep.segment(req.from_station_code.as_deref(), req.to_station_code.as_deref()) {
        Ok(s) => s,
        Err(problem) => return mismatch(Mismatch::Segment { problem }),
    };
    let from = &dep.line.stations[segment.from_index];
    let to = &dep.line.stations[segment.to_index];
    let departure_point = match custom_point(from, &req.custom_departure, "customDeparture", Mismatch::PickUpOutsideArea) {
        Ok(p) => p,
        Err(d) => return d,
    };
    let destination_point = match custom_point(to, &req.custom_destination, "customDestination", Mismatch::DropOffOutsideArea) {
        Ok(p) => p,
        Err(d) => return d,
    };
    for (i, p) in req.passengers.iter().enumerate() {
        if !dep.line.certificate_types.iter().any(|c| c == &p.cert_type) {
            return Decision::Invalid(OrderError::invalid(
                format!("passengerList[{i}].passengerCertificateType"),
                format!("{} is not accepted on this line (accepted: {})", p.cert_type, dep.line.certificate_types.join(",")),
            ));
        }
    }
    let mut fares = Vec::with_capacity(req.passengers.len());
    for p in &req.passengers {
        match segment.fare(p.passenger_type == Some(PassengerType::Child)) {
            Some(f) => fares.push(f),
            None => return mismatch(Mismatch::NoChildFare),
        }
    }
    if req.passengers.iter().zip(&fares).any(|(p, f)| p.ticket_price.is_some_and(|tp| tp != *f)) || fares.iter().sum::<i64>() != req.order_amount {
        return mismatch(Mismatch::PriceChanged);
    }
    if loaded.seats_left < i64::from(req.ticket_count) {
        return Decision::Refuse(RefusalCode::NotEnoughSeats, None);
    }
    Decision::Accept(Box::new(Accepted { segment, fares, departure_point, destination_point }))
}

/// The new order of an accepted create.
#[allow(clippy::too_many_arguments)]
pub fn build_order(
    req: &CreateRequest,
    dep: &Departure,
    segment: &Segment,
    fares: &[i64],
    departure_point: Option<Address>,
    destination_point: Option<Address>,
    agent_order_id: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Order {
    let d = dep.departure_instant();
    let passengers = req
        .passengers
        .iter()
        .zip(fares)
        .enumerate()
        .map(|(i, (p, fare))| {
            let pid = (i + 1).to_string();
            Passenger {
                ticket: Ticket {
                    ticket_id: format!("{agent_order_id}-{pid}"),
                    status: TicketStatus::Pending,
                    price: *fare,
                    e_ticket_no: None,
                    seat_no: None,
                    refund_surcharge: None,
                    refund_amount: None,
                    refund_id: None,
                    refunded: 0,
                },
                passenger_id: pid,
                name: p.name.clone(),
                passenger_type: p.passenger_type.unwrap_or(PassengerType::Adult),
                cert_type: p.cert_type.clone(),
                cert_no: p.cert_no.clone(),
            }
        })
        .collect();
    Order {
        alitrip_order_id: req.alitrip_order_id.clone(),
        agent_order_id: agent_order_id.to_string(),
        fingerprint: fingerprint.to_string(),
        status: OrderStatus::Locked,
        schedule_id: dep.schedule_id.clone(),
        line_id: dep.line.id.clone(),
        from_station_code: segment.from_station_code.clone(),
        to_station_code: segment.to_station_code.clone(),
        departure_at: d,
        order_amount: req.order_amount,
        ticket_amount: req.ticket_amount,
        custom_departure: departure_point,
        custom_destination: destination_point,
        info: req.info.clone(),
        created_at: now,
        lock_expire_at: (now + Duration::minutes(settings.hold_minutes)).min(d),
        confirmed_at: None,
        issue_deadline: None,
        issued_at: None,
        ended_at: None,
        book_fail_code: None,
        book_fail: None,
        ticket_pwd: None,
        fetch_ticket_spot: None,
        ticket_wicket: None,
        driver_contact_phone: None,
        sms_content: None,
        passengers,
        refunds: Vec::new(),
        money_refunds: Vec::new(),
    }
}

/// What the record stored under an `alitripOrderId` answers to a request with fingerprint
/// `fp`: the order (its create answer shows it as created, whatever happened since) or the
/// stored refusal.
fn stored_answer(record: OrderRecord, fp: &str) -> Result<Order, OrderError> {
    if record.fingerprint() != fp {
        return Err(OrderError::invalid("alitripOrderId", "already used with a different request"));
    }
    match record {
        OrderRecord::Order(o) => Ok(*o),
        OrderRecord::Refused(r) => Err(OrderError::refused(r.code, r.detail)),
    }
}

/// Waits up to `in_flight_wait_ms` for a twin's record to become readable.
async fn wait_for_twin(store: &dyn Store, id: &str, fp: &str, settings: &Settings) -> Result<Order, OrderError> {
    let deadline = Instant::now() + StdDuration::from_millis(settings.in_flight_wait_ms);
    loop {
        if let Some((rec, _)) = load_record(store, id).await? {
            return stored_answer(rec, fp);
        }
        if Instant::now() >= deadline {
            return Err(OrderError::Busy("a concurrent request for this alitripOrderId is still in flight".into()));
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Creates an order (§3.5): the stored order (or refusal) for a same-fingerprint repeat,
/// `invalid-parameter` for a different one; otherwise decides on the departure as read and
/// commits either the order with its seats (one atomic write: order `Absent`, departure
/// unchanged, seats `-n` with floor 0, departure membership, the Busgate id's claim) or the
/// stored refusal. Of identical requests in flight exactly one takes effect; the others
/// return its answer.
///
/// One store round trip when warm: no read of the order first (its put is conditional, and a
/// repeat finds the stored record in the failed condition), the departure from the
/// container's cache (checked by the commit), the id without a counter. Two when cold.
pub async fn create(store: &dyn Store, req: &CreateRequest, now: DateTime<Utc>, settings: &Settings) -> Result<Order, OrderError> {
    let fp = req.fingerprint();
    let id = req.alitrip_order_id.as_str();
    // The stored record found by a conditional put that lost (or read, if the store could not say).
    let stored = async |current: Option<Box<Item>>| -> Result<Order, OrderError> {
        match current.map(|i| i.decode::<OrderRecord>()).transpose()? {
            Some(rec) => stored_answer(rec, &fp),
            None => wait_for_twin(store, id, &fp, settings).await,
        }
    };
    let mut attempt = 0;
    while attempt < MAX_ATTEMPTS {
        let (loaded, cached) = records::departure_for(store, settings, &req.schedule_id, attempt).await?;
        attempt += 1;
        let decision = decide(req, loaded.as_ref(), now);
        if cached && !matches!(decision, Decision::Accept(_)) {
            // Never refuse on what this container remembers: decide again on a fresh read.
            continue;
        }
        match decision {
            Decision::Invalid(e) => {
                // A repeat of a create that succeeded earlier still gets its stored answer.
                if let Some((rec, _)) = load_record(store, id).await? {
                    return stored_answer(rec, &fp);
                }
                return Err(e);
            }
            Decision::Refuse(code, detail) => {
                let detail = detail.map(Reason::Mismatch);
                let r = RefusedCreate {
                    alitrip_order_id: id.to_string(),
                    fingerprint: fp.clone(),
                    code,
                    detail: detail.clone(),
                    schedule_id: req.schedule_id.clone(),
                    at: now,
                };
                match store.transact(vec![Write::Put { item: refused_item(&r), condition: Condition::Absent }]).await {
                    Ok(()) => {
                        tracing::info!(alitrip_order_id = id, code = ?code, "create refused (stored)");
                        return Err(OrderError::refused(code, detail));
                    }
                    Err(StoreError::ConditionFailed { current, .. }) => return stored(current).await,
                    Err(StoreError::Conflict) => pause(attempt).await,
                    Err(e) => return Err(e.into()),
                }
            }
            Decision::Accept(accepted) => {
                let Accepted { segment, fares, departure_point, destination_point } = *accepted;
                let loaded = loaded.expect("accepted on a loaded departure");
                let agent_order_id = records::new_id("BG", now);
                let order =
                    build_order(req, &loaded.departure, &segment, &fares, departure_point, destination_point, &agent_order_id, &fp, now, settings);
                let writes = vec![
                    Write::Put { item: order_item(&order, 1), condition: Condition::Absent },
                    Write::Check { key: crate::catalogue::departure_key(&req.schedule_id), condition: Condition::Version(loaded.version) },
                    Write::Count { key: seats_key(&req.schedule_id), delta: -i64::from(req.ticket_count), floor: Some(0) },
                    Write::Put { item: membership_item(&order), condition: Condition::Absent },
                    records::agent_id_claim(&order),
                ];
                match store.transact(writes).await {
                    Ok(()) => {
                        tracing::info!(alitrip_order_id = id, agent_order_id = %order.agent_order_id, seats = req.ticket_count, "order created");
                        return Ok(order);
                    }
                    // The alitripOrderId is taken: a repeat (or a twin in flight that won).
                    Err(StoreError::ConditionFailed { index: 0, current }) => return stored(current).await,
                    // The departure or its seats moved since the read (or, once in 10^8, the id
                    // was taken): decide again on a fresh read.
                    Err(StoreError::ConditionFailed { .. }) => {}
                    Err(StoreError::Conflict) => pause(attempt).await,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(records::contention())
}
