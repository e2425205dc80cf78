//! The TOP client: Busgate's one way of calling Fliggy back (qimen-top.md §1, fliggy-bus.md
//! §4.1). System parameters travel in the query, business parameters form-encoded in the body,
//! all of them signed; the answer is classified as delivered, retry or permanent.

use std::time::Duration;

use busgate_domain::outbox::{Outcome, Sent};
use busgate_signing::{encode_query, format_timestamp, top_sign, Secret, SignMethod};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Where and as whom Busgate calls TOP.
#[derive(Debug, Clone)]
pub struct TopConfig {
    /// TOP gateway URL (`https://eco.taobao.com/router/rest`; the fake TOP in local mode).
    pub url: String,
    pub app_key: String,
    pub secret: Secret,
    pub session: Secret,
    pub sign_method: SignMethod,
    /// Credentials of `alitrip.serve.workorder.relation` (`caller_info`).
    pub relation_app_name: String,
    pub relation_app_secret: Secret,
}

/// Builds the signed request: (query string, form body). The business values are sent as
/// they are; blank ones are dropped, exactly as the SDK does (and as the signature skips them).
pub fn signed_request(cfg: &TopConfig, method: &str, business: &[(String, String)], now: DateTime<Utc>) -> (String, String) {
    let mut system: Vec<(String, String)> = vec![
        ("method".into(), method.into()),
        ("app_key".into(), cfg.app_key.clone()),
        ("timestamp".into(), format_timestamp(now)),
        ("format".into(), "json".into()),
        ("v".into(), "2.0".into()),
        ("sign_method".into(), cfg.sign_method.as_str().into()),
    ];
    if !cfg.session.is_empty() {
        system.push(("session".into(), cfg.session.expose().to_string()));
    }
    system.retain(|(_, v)| !v.trim().is_empty());
    let business: Vec<(String, String)> = business.iter().filter(|(_, v)| !v.trim().is_empty()).cloned().collect();
    let all: Vec<(String, String)> = system.iter().chain(business.iter()).cloned().collect();
    let sign = top_sign(&all, None, cfg.secret.expose(), cfg.sign_method);
    system.push(("sign".into(), sign));
    (encode_query(&system), encode_query(&business))
}

/// Sends one TOP call and classifies the answer; the raw answer comes back too (callers that
/// need business fields of the answer, such as the relation API's `data`, parse it).
pub async fn call(http: &reqwest::Client, cfg: &TopConfig, method: &str, business: &[(String, String)], now: DateTime<Utc>) -> Sent {
    let (query, body) = signed_request(cfg, method, business, now);
    let url = if cfg.url.contains('?') { format!("{}&{query}", cfg.url) } else { format!("{}?{query}", cfg.url) };
    let sent = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded;charset=utf-8")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Sent { outcome: Outcome::Retry { reason: format!("transport: {}", e.without_url()), wait_secs: None }, answer: None },
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => return Sent { outcome: Outcome::Retry { reason: format!("transport: {}", e.without_url()), wait_secs: None }, answer: None },
    };
    Sent { outcome: classify(status, &text), answer: Some(text) }
}

fn short(text: &str) -> String {
    text.chars().take(500).collect()
}

/// Classifies an HTTP answer of the TOP gateway (fliggy-bus.md §4.1, §8.8).
pub fn classify(status: u16, text: &str) -> Outcome {
    if status >= 500 {
        return Outcome::Retry { reason: format!("HTTP {status}: {}", short(text)), wait_secs: None };
    }
    if status != 200 {
        return Outcome::Permanent { reason: format!("HTTP {status}: {}", short(text)) };
    }
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(text) else {
        return Outcome::Permanent { reason: format!("unparseable answer: {}", short(text)) };
    };
    if let Some(Value::Object(err)) = root.get("error_response") {
        let code = err.get("code").and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok())));
        let sub = err.get("sub_code").and_then(Value::as_str).unwrap_or("");
        let msg = err.get("sub_msg").or_else(|| err.get("msg")).and_then(Value::as_str).unwrap_or("");
        let reason = format!("error_response code {} {sub} {msg}", code.map(|c| c.to_string()).unwrap_or_default());
        if sub.starts_with("isp.") {
            return Outcome::Retry { reason, wait_secs: None };
        }
        if sub.starts_with("isv.") {
            return Outcome::Permanent { reason };
        }
        return match code {
            Some(7) => Outcome::Retry { wait_secs: ban_seconds(msg), reason },
            Some(4..=10) => Outcome::Retry { reason, wait_secs: None },
            _ => Outcome::Permanent { reason },
        };
    }
    // Success, with or without the `<name>_response` wrapper.
    let body = if root.len() == 1 {
        match root.values().next() {
            Some(Value::Object(inner)) if root.keys().next().is_some_and(|k| k.ends_with("_response")) => inner.clone(),
            _ => root.clone(),
        }
    } else {
        root.clone()
    };
    let result_code = body.get("result_code").and_then(Value::as_str).unwrap_or("");
    let msg = body.get("result_msg").or_else(|| body.get("error_msg")).and_then(Value::as_str).unwrap_or("");
    let ok = body.get("is_success").or_else(|| body.get("result")).and_then(|v| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    });
    if ok == Some(true) || result_code == "REFUND_ALREADY_DEAL_DONE" {
        return Outcome::Delivered;
    }
    let reason = format!("is_success false: {result_code} {msg}");
    if matches!(result_code, "SYS_ERROR" | "SYSTEM_ERROR") || result_code.starts_with("isp.") {
        return Outcome::Retry { reason, wait_secs: None };
    }
    match ok {
        Some(false) => Outcome::Permanent { reason },
        _ => Outcome::Permanent { reason: format!("answer without an outcome: {}", short(text)) },
    }
}

/// "This ban will last for N more seconds" → N.
fn ban_seconds(msg: &str) -> Option<u32> {
    let i = msg.find("last for ")?;
    msg[i + 9..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_documented_outcome() {
        let delivered = r#"{"bus_agent_bookticket_confirm_response":{"is_success":true,"request_id":"x"}}"#;
        assert_eq!(classify(200, delivered), Outcome::Delivered);
        assert_eq!(classify(200, r#"{"is_success":true}"#), Outcome::Delivered, "simplified form");
        assert_eq!(
            classify(200, r#"{"bus_agent_refund_confirm_response":{"is_success":false,"result_code":"REFUND_ALREADY_DEAL_DONE"}}"#),
            Outcome::Delivered
        );
        let sys = r#"{"bus_agent_refund_confirm_response":{"is_success":false,"result_code":"SYS_ERROR","result_msg":"系统异常"}}"#;
        assert!(matches!(classify(200, sys), Outcome::Retry { .. }));
        let isp = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.top-remote-connection-timeout"}}"#;
        assert!(matches!(classify(200, isp), Outcome::Retry { .. }));
        let isv = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.MOBILE_NUMBER_ILLEGAL","sub_msg":"号码格式错误"}}"#;
        assert!(matches!(classify(200, isv), Outcome::Permanent { .. }));
        let limited = r#"{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-app-access-count","sub_msg":"This ban will last for 17 more seconds"}}"#;
        assert_eq!(
            classify(200, limited),
            Outcome::Retry {
                reason: "error_response code 7 accesscontrol.limited-by-app-access-count This ban will last for 17 more seconds".into(),
                wait_secs: Some(17)
            }
        );
        for code in [11, 25, 27, 40, 43] {
            let t = format!(r#"{{"error_response":{{"code":{code},"msg":"x"}}}}"#);
            assert!(matches!(classify(200, &t), Outcome::Permanent { .. }), "code {code}");
        }
        assert!(matches!(classify(200, r#"{"error_response":{"code":15,"msg":"x"}}"#), Outcome::Permanent { .. }));
        assert!(matches!(classify(502, "bad gateway"), Outcome::Retry { .. }));
        assert!(matches!(classify(200, "<html>"), Outcome::Permanent { .. }));
        assert!(matches!(classify(200, r#"{"x_response":{"is_success":false,"result_code":"BAD"}}"#), Outcome::Permanent { .. }));
    }

    #[test]
    fn signs_system_and_business_parameters_together() {
        let cfg = TopConfig {
            url: "http://127.0.0.1/router/rest".into(),
            app_key: "12345678".into(),
            secret: Secret::new("helloworld"),
            session: Secret::new("test"),
            sign_method: SignMethod::Md5,
            relation_app_name: String::new(),
            relation_app_secret: Default::default(),
        };
        let now = DateTime::parse_from_rfc3339("2016-01-01T12:00:00+08:00").unwrap().with_timezone(&Utc);
        let json = r#"{"agent_order_id":"3232323","success":true,"ticket_count":1,"fetch_tickets_address":"xxx汽车站"}"#;
        let (query, body) = signed_request(&cfg, "taobao.bus.agent.bookticket.confirm", &[("param_agent_confirm_book_r_q".into(), json.into())], now);
        // T5a of qimen-top.md §5.1 signs the same parameters plus `simplify=true`; without it the
        // signature differs, so check the rule by recomputing with the library over the wire values.
        let mut params: Vec<(String, String)> = busgate_signing::parse_query(&query).into_iter().filter(|(k, _)| k != "sign").collect();
        params.extend(busgate_signing::parse_query(&body));
        let sign = busgate_signing::parse_query(&query)["sign"].clone();
        assert_eq!(sign, top_sign(&params, None, "helloworld", SignMethod::Md5));
        assert!(query.contains("timestamp=2016-01-01+12%3A00%3A00"));
        assert_eq!(busgate_signing::parse_query(&body)["param_agent_confirm_book_r_q"], json);
    }
}
