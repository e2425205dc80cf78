//! Partner routes other than the bus: the collaboration callback and Fenbeitong notices.

use crate::app::App;
use crate::pipeline::{Inbound, Outbound};

pub async fn relation(app: &App, req: &Inbound) -> (Outbound, String) {
    let _ = (app, req);
    (Outbound { status: 503, body: b"{}".to_vec() }, "unavailable".into())
}

pub async fn fenbeitong(app: &App, req: &Inbound) -> (Outbound, String) {
    let _ = (app, req);
    (Outbound { status: 503, body: b"{}".to_vec() }, "unavailable".into())
}

/// Completes a TOP call's business parameters at send time with what must not be stored in
/// the outbox (the relation API's `caller_info.app_secret`).
pub fn complete_top_params(app: &App, method: &str, params: &[(String, String)]) -> Vec<(String, String)> {
    let _ = (app, method);
    params.to_vec()
}

/// Sends a Fenbeitong decision (partners.md §2.5).
pub async fn send_fenbeitong(
    app: &App,
    http: &reqwest::Client,
    company: &str,
    data: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::top::Outcome {
    let _ = (app, http, company, data, now);
    crate::top::Outcome::Retry { reason: "Fenbeitong sender not configured".into(), wait_secs: None }
}
