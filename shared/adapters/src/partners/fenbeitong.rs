//! Fenbeitong's open API: the operator's decisions on notices sent back (partners.md §2.5),
//! signed by `busgate_signing::fenbeitong`.

use busgate_domain::outbox::Outcome;
use busgate_signing::Secret;

/// Where and with which credentials Busgate calls Fenbeitong.
#[derive(Debug, Clone, Default)]
pub struct FenbeitongApi {
    /// Base URL of the open API.
    pub url: String,
    pub sign_key: Secret,
    pub access_token: Secret,
}

/// Sends a Fenbeitong decision (partners.md §2.5).
pub async fn send(http: &reqwest::Client, cfg: &FenbeitongApi, company: &str, path: &str, data: &str, now: chrono::DateTime<chrono::Utc>) -> Outcome {
    if cfg.url.is_empty() {
        return Outcome::Retry { reason: "BUSGATE_FENBEITONG_URL is not set".into(), wait_secs: None };
    }
    let signed = busgate_signing::fenbeitong::sign_request(data, now.timestamp_millis(), cfg.sign_key.expose());
    let url = format!("{}{}", cfg.url.trim_end_matches('/'), path);
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
