//! Secrets in AWS come from SSM Parameter Store through the AWS Parameters and Secrets Lambda
//! Extension (a local HTTP endpoint, so no SSM SDK is compiled in). A secret given directly in
//! the environment (local mode, tests) wins; `<NAME>_PARAM` names the parameter otherwise.

use crate::config::{Config, Secret};

async fn fetch(name: &str) -> Result<String, String> {
    let port = std::env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").unwrap_or_else(|_| "2773".into());
    let token = std::env::var("AWS_SESSION_TOKEN").map_err(|_| "AWS_SESSION_TOKEN not set".to_string())?;
    let url = format!("http://localhost:{port}/systemsmanager/parameters/get");
    let r = reqwest::Client::new()
        .get(url)
        .query(&[("name", name), ("withDecryption", "true")])
        .header("X-Aws-Parameters-Secrets-Token", token)
        .send()
        .await
        .map_err(|e| format!("parameter {name}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("parameter {name}: HTTP {}", r.status()));
    }
    let bytes = r.bytes().await.map_err(|e| format!("parameter {name}: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("parameter {name}: {e}"))?;
    v.pointer("/Parameter/Value").and_then(|v| v.as_str()).map(str::to_string).ok_or_else(|| format!("parameter {name}: no value"))
}

async fn resolve_one(secret: &mut Secret, var: &str) -> Result<(), String> {
    if !secret.is_empty() {
        return Ok(());
    }
    if let Ok(name) = std::env::var(format!("{var}_PARAM")) {
        if !name.trim().is_empty() {
            *secret = Secret::new(fetch(name.trim()).await?);
        }
    }
    Ok(())
}

/// Fills every unset secret whose `_PARAM` variable names a parameter.
pub async fn resolve(config: &mut Config) -> Result<(), String> {
    resolve_one(&mut config.qimen_secret, "BUSGATE_QIMEN_SECRET").await?;
    resolve_one(&mut config.top.secret, "BUSGATE_TOP_SECRET").await?;
    resolve_one(&mut config.top.session, "BUSGATE_TOP_SESSION").await?;
    resolve_one(&mut config.top.relation_app_secret, "BUSGATE_RELATION_APP_SECRET").await?;
    resolve_one(&mut config.fenbeitong.tokens, "BUSGATE_FENBEITONG_TOKENS").await?;
    resolve_one(&mut config.fenbeitong.sign_key, "BUSGATE_FENBEITONG_SIGN_KEY").await?;
    resolve_one(&mut config.fenbeitong.access_token, "BUSGATE_FENBEITONG_ACCESS_TOKEN").await?;
    Ok(())
}
