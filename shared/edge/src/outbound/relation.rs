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
    let outcome = match (answer.and_then(busgate_wire::relation::outcome_of), d) {
        (Some(outcome), _) => outcome,
        (None, Disposition::Dead(reason)) => OutboundOutcome::Failed { code: None, message: reason.clone() },
        (None, _) => return,
    };
    if let Err(e) = cases::record_outcome(app.store.as_ref(), &action.relation_case_id, &action.unique_id, &outcome, now).await {
        tracing::error!(callback = %cb.id, error = %e, "case outcome not recorded");
    }
}
