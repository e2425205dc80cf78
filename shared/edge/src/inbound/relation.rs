//! `POST /fliggy/relation`: collaboration messages from Fliggy customer service.

use busgate_domain::cases::RelationConfig;
use busgate_wire::relation;

use super::pipeline::{verify_qimen, Inbound, Outbound, QimenRefusal};
use crate::app::App;
use crate::config::RelationAuth;

fn answer(status: u16, body: String, code: &str) -> (Outbound, String) {
    (Outbound { status, body: body.into_bytes() }, code.to_string())
}

/// `POST /fliggy/relation` (partners.md decisions): size, then authentication (Qimen
/// signature, or the IP allowlist mode), then timestamp, then the case service.
pub async fn relation(app: &App, req: &Inbound) -> (Outbound, String) {
    let limit = app.config.inbound.max_body_bytes.min(RelationConfig::default().max_body_bytes);
    if req.body.len() > limit {
        return answer(200, relation::too_large(limit), "E_TOO_LARGE");
    }
    match &app.config.inbound.relation_auth {
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
    let result = relation::receive(app.store.as_ref(), &req.body, app.clock.now(), &cfg).await;
    let (status, body) = relation::respond(&result);
    let code =
        if result.success { "0".to_string() } else { result.error_info.clone().unwrap_or_default().split(':').next().unwrap_or("").to_string() };
    answer(status, body, &code)
}
