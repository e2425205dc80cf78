//! Collaboration actions sent to Fliggy: the case told how its action ended, from Fliggy's
//! answer as `busgate_wire::relation` reads it.

use busgate_domain::cases::{self, OutboundOutcome};
use busgate_domain::outbox::{Callback, Disposition};

use crate::app::App;

/// Tells the domain how a callback ended, where the domain waits for it (a collaboration
/// action changes the case only once Fliggy accepted it).
pub async fn after_final_outcome(app: &App, cb: &Callback, d: &Disposition, answer: Option<&str>, now: chrono::DateTime<chrono::Utc>) {
    let Some(action) = busgate_wire::relation::action_of(cb) else {
        return;
    };
    let outcome = match (answer.map(busgate_wire::relation::parse_reply), d) {
        (Some(Ok(reply)), _) => OutboundOutcome::Accepted(reply),
        (Some(Err(Ok(err))), _) => OutboundOutcome::Failed {
            code: err.sub_code.clone().or(err.code.clone()),
            message: err.sub_msg.clone().or(err.msg.clone()).unwrap_or_default(),
        },
        (_, Disposition::Dead(reason)) => OutboundOutcome::Failed { code: None, message: reason.clone() },
        _ => return,
    };
    if let Err(e) = cases::record_outcome(app.store.as_ref(), &action.relation_case_id, &action.unique_id, &outcome, now).await {
        tracing::error!(callback = %cb.id, error = %e, "case outcome not recorded");
    }
}
