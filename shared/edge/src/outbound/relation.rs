//! Collaboration actions sent to Fliggy: the relation API's secret added at send time, and
//! the case told how its action ended.

use busgate_domain::cases::{self, OutboundOutcome, OutboundReply};
use busgate_domain::outbox::{Callback, Disposition};

use crate::app::App;

const RELATION_METHOD: &str = "alitrip.serve.workorder.relation";

/// Completes a TOP call's business parameters at send time with what must not be stored in
/// the outbox (the relation API's `caller_info.app_secret`). Never log the result.
pub fn complete_top_params(app: &App, method: &str, params: &[(String, String)]) -> Vec<(String, String)> {
    if method == RELATION_METHOD {
        let top = &app.config.top;
        return cases::fill_caller_info(params, &top.relation_app_name, top.relation_app_secret.expose());
    }
    params.to_vec()
}

/// Tells the domain how a callback ended, where the domain waits for it (a collaboration
/// action changes the case only once Fliggy accepted it).
pub async fn after_final_outcome(app: &App, cb: &Callback, d: &Disposition, answer: Option<&str>, now: chrono::DateTime<chrono::Utc>) {
    if cases::action_of(cb).is_none() {
        return;
    }
    let outcome = match (answer.map(OutboundReply::parse), d) {
        (Some(Ok(reply)), _) => OutboundOutcome::Accepted(reply),
        (Some(Err(Ok(err))), _) => OutboundOutcome::Failed {
            code: err.sub_code.clone().or(err.code.clone()),
            message: err.sub_msg.clone().or(err.msg.clone()).unwrap_or_default(),
        },
        (_, Disposition::Dead(reason)) => OutboundOutcome::Failed { code: None, message: reason.clone() },
        _ => return,
    };
    if let Err(e) = cases::record_callback_outcome(app.store.as_ref(), cb, &outcome, now).await {
        tracing::error!(callback = %cb.id, error = %e, "case outcome not recorded");
    }
}
