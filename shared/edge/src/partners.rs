//! Partner routes other than the bus — the collaboration callback and Fenbeitong notices —
//! and the partner-specific parts of callback delivery.

use busgate_domain::cases::{self, OutboundOutcome, OutboundReply, RelationConfig};
use busgate_domain::notices;
use busgate_domain::outbox::Callback;
use busgate_wire::{fenbeitong, relation};

use crate::app::App;
use crate::config::RelationAuth;
use crate::delivery::Disposition;
use crate::pipeline::{verify_qimen, Inbound, Outbound, QimenRefusal};

const RELATION_METHOD: &str = "alitrip.serve.workorder.relation";

fn answer(status: u16, body: String, code: &str) -> (Outbound, String) {
    (Outbound { status, body: body.into_bytes() }, code.to_string())
}

/// `POST /fliggy/relation` (partners.md decisions): size, then authentication (Qimen
/// signature, or the IP allowlist mode), then timestamp, then the case service.
pub async fn relation(app: &App, req: &Inbound) -> (Outbound, String) {
    let limit = app.config.max_body_bytes.min(RelationConfig::default().max_body_bytes);
    if req.body.len() > limit {
        return answer(200, relation::too_large(limit), "E_TOO_LARGE");
    }
    match &app.config.relation_auth {
        RelationAuth::Qimen => match verify_qimen(app, req) {
            Ok(_) => {}
            Err(QimenRefusal::TooLarge) => return answer(200, relation::too_large(limit), "E_TOO_LARGE"),
            Err(QimenRefusal::Sign(why)) => {
                tracing::warn!(reason = %why, "relation signature refused");
                return answer(200, relation::SIGN_FAILURE_BODY.to_string(), "sign-check-failure");
            }
            Err(QimenRefusal::Timestamp(why)) => return answer(200, relation::timestamp(&why), "E_TIMESTAMP"),
        },
        RelationAuth::IpAllowlist(allowed) => {
            let ip = req.source_ip.as_deref().unwrap_or_default();
            if !allowed.iter().any(|a| a == ip) {
                tracing::warn!(ip, "relation caller not in the allowlist");
                return answer(200, relation::SIGN_FAILURE_BODY.to_string(), "sign-check-failure");
            }
        }
    }
    let ct = req.header("content-type");
    if !ct.is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("application/json")) {
        return answer(200, relation::media_type(ct), "E_MEDIA_TYPE");
    }
    let cfg = RelationConfig { max_body_bytes: limit, ..Default::default() };
    let result = cases::receive_with(app.store.as_ref(), &req.body, app.clock.now(), &cfg).await;
    let (status, body) = relation::respond(&result);
    let code =
        if result.success { "0".to_string() } else { result.error_info.clone().unwrap_or_default().split(':').next().unwrap_or("").to_string() };
    answer(status, body, &code)
}

/// `POST /fenbeitong/notify/{token}` (partners.md decisions, §2.7): token (constant time),
/// media type, size, then strict intake that stores the raw body once before answering.
pub async fn fenbeitong(app: &App, req: &Inbound) -> (Outbound, String) {
    let token = req.path.rsplit('/').next().unwrap_or_default();
    let result = async {
        let tokens = app.fenbeitong_tokens().ok_or(notices::NoticeError::Unauthorized)?;
        let company = tokens.authorize(token)?.to_string();
        fenbeitong::check_content_type(req.header("content-type"))?;
        fenbeitong::receive(app.store.as_ref(), &company, &req.body, app.clock.now()).await
    }
    .await;
    let code = match &result {
        Ok(_) => "0".to_string(),
        Err(e) => fenbeitong::code(e).to_string(),
    };
    let response = fenbeitong::respond(&result, &req.request_id);
    (Outbound { status: response.status, body: response.body.into_bytes() }, code)
}

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

/// Sends a Fenbeitong decision (partners.md §2.5).
pub async fn send_fenbeitong(
    app: &App,
    http: &reqwest::Client,
    company: &str,
    data: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::top::Outcome {
    use crate::top::Outcome;
    let cfg = &app.config.fenbeitong;
    if cfg.url.is_empty() {
        return Outcome::Retry { reason: "BUSGATE_FENBEITONG_URL is not set".into(), wait_secs: None };
    }
    let signed = busgate_signing::fenbeitong::sign_request(data, now.timestamp_millis(), cfg.sign_key.expose());
    let url = format!("{}{}", cfg.url.trim_end_matches('/'), notices::decision_path(data));
    let sent = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded;charset=utf-8")
        .body(signed.form_body(cfg.access_token.expose()))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    let r = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Retry { reason: format!("transport: {}", e.without_url()), wait_secs: None },
    };
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let short: String = text.chars().take(300).collect();
    if status >= 500 {
        return Outcome::Retry { reason: format!("HTTP {status}: {short}"), wait_secs: None };
    }
    // Fenbeitong's APIs answer {"code":0,"msg":"success",…}; code 0 or "0" is success (§2.5).
    let code = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v.get("code").cloned());
    match code {
        Some(serde_json::Value::Number(n)) if n.as_i64() == Some(0) => Outcome::Delivered,
        Some(serde_json::Value::String(s)) if s == "0" => Outcome::Delivered,
        _ => Outcome::Permanent { reason: format!("company {company}: HTTP {status}: {short}") },
    }
}
