//! Secrets in AWS come from SSM Parameter Store through the AWS Parameters and Secrets Lambda
//! Extension (a local plain-HTTP endpoint, so no SSM SDK and no TLS client: hyper's, which the
//! Lambda runtime links anyway). A secret given directly in
//! the environment (local mode, tests) wins; `<NAME>_PARAM` names the parameter otherwise.
//!
//! Lambda starts the runtime once extensions have *registered*, not once they *serve*: a cold
//! start can reach the extension before it listens. So each fetch is retried (connection
//! refused, 5xx, the extension's "not ready" answers) with a short backoff, each try bounded
//! by a timeout, the whole within [`FETCH_BUDGET`]. Errors name the parameter, never a value.

use std::time::{Duration, Instant};

use crate::config::{Config, Secret};

/// How long a cold start may wait for the extension, per parameter.
pub const FETCH_BUDGET: Duration = Duration::from_secs(8);
/// One try's timeout.
const TRY_TIMEOUT: Duration = Duration::from_secs(2);

enum Failure {
    /// Worth trying again (the extension not up yet, or busy).
    Transient(String),
    /// Retrying cannot help (no such parameter, access denied, a malformed answer).
    Final(String),
}

type Http = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, http_body_util::Empty<bytes::Bytes>>;

fn http_client() -> Http {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

async fn fetch_once(http: &Http, url: &str, name: &str, token: &str) -> Result<String, Failure> {
    use http_body_util::BodyExt;
    let query = busgate_signing::encode_query(&[("name", name), ("withDecryption", "true")]);
    let request = http::Request::get(format!("{url}?{query}"))
        .header("X-Aws-Parameters-Secrets-Token", token)
        .body(http_body_util::Empty::new())
        .map_err(|e| Failure::Final(format!("request: {e}")))?;
    let answer = async {
        let r = http.request(request).await.map_err(|e| Failure::Transient(format!("extension unreachable: {e}")))?;
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await.map_err(|e| Failure::Transient(format!("extension answer cut: {e}")))?.to_bytes();
        Ok::<_, Failure>((status, bytes))
    };
    let (status, bytes) =
        tokio::time::timeout(TRY_TIMEOUT, answer).await.map_err(|_| Failure::Transient(format!("no answer within {TRY_TIMEOUT:?}")))??;
    if status >= 500 || status == 429 {
        return Err(Failure::Transient(format!("extension HTTP {status}")));
    }
    if status != 200 {
        // The body may say why (AccessDenied, ParameterNotFound); it never holds the value.
        let why: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        return Err(Failure::Final(format!("HTTP {status}: {why}")));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Failure::Final(format!("not JSON: {e}")))?;
    v.pointer("/Parameter/Value").and_then(|v| v.as_str()).map(str::to_string).ok_or_else(|| Failure::Final("no /Parameter/Value".into()))
}

async fn fetch(http: &Http, name: &str) -> Result<String, String> {
    let port = std::env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").unwrap_or_else(|_| "2773".into());
    let token = std::env::var("AWS_SESSION_TOKEN").map_err(|_| "AWS_SESSION_TOKEN not set".to_string())?;
    let url = format!("http://localhost:{port}/systemsmanager/parameters/get");
    let started = Instant::now();
    let mut wait = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        tries += 1;
        match fetch_once(http, &url, name, &token).await {
            Ok(v) => {
                if tries > 1 {
                    tracing::info!(parameter = name, tries, ms = started.elapsed().as_millis() as u64, "parameter read after retries");
                }
                return Ok(v);
            }
            Err(Failure::Final(why)) => return Err(format!("parameter {name}: {why}")),
            Err(Failure::Transient(why)) if started.elapsed() + wait < FETCH_BUDGET => {
                tracing::debug!(parameter = name, tries, %why, "extension not ready; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(500));
            }
            Err(Failure::Transient(why)) => return Err(format!("parameter {name}: {why} (gave up after {tries} tries in {:?})", started.elapsed())),
        }
    }
}

async fn resolve_one(http: &Http, secret: &mut Secret, var: &str) -> Result<(), String> {
    if !secret.is_empty() {
        return Ok(());
    }
    if let Ok(name) = std::env::var(format!("{var}_PARAM")) {
        if !name.trim().is_empty() {
            *secret = Secret::new(fetch(http, name.trim()).await?);
        }
    }
    Ok(())
}

/// Fills every unset secret whose `_PARAM` variable names a parameter.
pub async fn resolve(config: &mut Config) -> Result<(), String> {
    let http = http_client();
    resolve_one(&http, &mut config.inbound.qimen_secret, "BUSGATE_QIMEN_SECRET").await?;
    resolve_one(&http, &mut config.top.secret, "BUSGATE_TOP_SECRET").await?;
    resolve_one(&http, &mut config.top.session, "BUSGATE_TOP_SESSION").await?;
    resolve_one(&http, &mut config.top.relation_app_secret, "BUSGATE_RELATION_APP_SECRET").await?;
    resolve_one(&http, &mut config.fenbeitong.tokens, "BUSGATE_FENBEITONG_TOKENS").await?;
    resolve_one(&http, &mut config.fenbeitong.api.sign_key, "BUSGATE_FENBEITONG_SIGN_KEY").await?;
    resolve_one(&http, &mut config.fenbeitong.api.access_token, "BUSGATE_FENBEITONG_ACCESS_TOKEN").await?;
    Ok(())
}
