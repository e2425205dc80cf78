//! Refund interfaces: fee (§3.8) and apply (§3.9).

use busgate_domain::orders::{self, RefundApplyRequest, RefundEntry, RefundState};
use busgate_wire::fliggy::{Data, Failure};
use busgate_wire::json::{FieldError, Fields};
use busgate_wire::orders as wire;

use super::orders::{cert_type, finish, order_ids};
use super::Answer;
use crate::app::App;

/// Parses a refunds/apply request (§3.9 shape checks).
pub fn parse_apply(f: &Fields<'_>) -> Result<RefundApplyRequest, Failure> {
    let (alitrip_order_id, agent_order_id) = order_ids(f)?;
    let mut entries = Vec::new();
    if let Some(list) = f.opt_objects("passengerList")? {
        if list.len() > super::orders::MAX_PASSENGERS {
            return Err(Failure::invalid(FieldError::new("passengerList", "at most 100 entries")));
        }
        for (path, map) in &list {
            let pf = Fields::nested(map, path);
            let ticket_id = pf.opt_id("ticketId")?;
            let passenger_id = pf.opt_str("passengerId")?;
            let ct = cert_type(&pf, "passengerCertificateType")?;
            let cert_no = pf.opt_str("passengerCertificateNo")?;
            let _name = pf.opt_str("passengerName")?;
            let refund_surcharge = pf.opt_fen("refundSurcharge")?;
            if ticket_id.is_none() && passenger_id.is_none() && (ct.is_none() || cert_no.is_none()) {
                return Err(Failure::invalid(FieldError::new(
                    path.clone(),
                    "ticketId, passengerId or passengerCertificateType+passengerCertificateNo required",
                )));
            }
            entries.push(RefundEntry { path: path.clone(), ticket_id, passenger_id, cert_type: ct, cert_no, refund_surcharge });
        }
    }
    let reason = f.opt_str("refundReason")?;
    Ok(RefundApplyRequest { alitrip_order_id, agent_order_id, entries, reason })
}

/// §3.8 refund surcharge.
pub async fn fee(app: &App, f: Fields<'_>) -> Answer {
    let (id, agent) = order_ids(&f)?;
    let reply = orders::fee(app.store.as_ref(), &id, agent.as_deref(), app.clock.now()).await;
    finish(app, reply).await.map(|fee| Data::of(&wire::refund_fee(&fee)))
}

/// §3.9 refund request.
pub async fn apply(app: &App, f: Fields<'_>) -> Answer {
    let req = parse_apply(&f)?;
    let reply = orders::apply_refund(app.store.as_ref(), &req, app.clock.now(), &app.orders).await;
    let answer = finish(app, reply).await;
    if app.config.sales.refund_mode == crate::config::Mode::Async && app.config.sales.auto_refund {
        // A repeat answers the stored refund: queueing its job again is harmless (a decided
        // refund is not decided twice). A lost job is covered by the sweeper's deadline.
        if let Ok(a) = &answer {
            if a.refund.state == RefundState::Pending {
                app.queue_refund(&a.refund.refund_id).await;
            }
        }
    }
    answer.map(|a| Data::of(&wire::refund_accepted(&a)))
}
