//! The one AWS configuration helper. Every SDK client is built from it, so the rustls/ring
//! HTTP client is always set (without it the slim SDK build panics at the first call).
//!
//! Two sources: a Lambda function reads its region, credentials and endpoint overrides straight
//! from its environment ([`function_config`]: nothing to load, no provider chain linked or run
//! at init); the operator's machine (the CLI's `--target aws`, the tests) loads aws-config's
//! default chains ([`aws_config`]: profiles, SSO, web identity, instance metadata).

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The ring-based rustls HTTP client every SDK client uses.
fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

/// Loads the AWS configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL_*` for emulators) with the ring-based rustls HTTP client.
pub async fn aws_config() -> SdkConfig {
    let http = http_client();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
}

/// A Lambda function's configuration, from the environment the Lambda service gives every
/// function: `AWS_REGION`, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`
/// (valid for the execution environment's life), and the `AWS_ENDPOINT_URL[_<SERVICE>]`
/// overrides (the offline stack's emulators). The SDK clients add their defaults (retry,
/// timeouts, Tokio sleep, identity cache) themselves.
pub fn function_config() -> SdkConfig {
    let mut b = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).http_client(http_client()).service_config(EnvEndpoints);
    b.set_region(env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).map(Region::new));
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        b.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    b.build()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Endpoint overrides from the environment, as aws-config reads them: the service's own
/// variable (`AWS_ENDPOINT_URL_DYNAMODB`), else the global one (`AWS_ENDPOINT_URL`).
#[derive(Debug)]
struct EnvEndpoints;

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        env(&format!("{}_{service}", key.env())).or_else(|| env(key.env()))
    }
}

/// A configuration for an emulator at `endpoint` with fixed test credentials and region: it
/// never consults the default provider chains (which would try the instance metadata service).
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let http = http_client();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "emulator"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The DynamoDB table alone (functions that never send to the queue).
pub fn connect_store(sdk: &SdkConfig, table: &str) -> crate::DynamoStore {
    crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
}

/// The production adapters: the DynamoDB table and the SQS queue pair, on one configuration.
pub fn connect(sdk: &SdkConfig, table: &str, queue_url: &str, dlq_url: &str) -> (crate::DynamoStore, crate::SqsQueue) {
    (crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table), crate::SqsQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url, dlq_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_overrides_read_the_service_variable_then_the_global_one() {
        // Variables of this test's own prefix: no other test reads them.
        let key = |service| ServiceConfigKey::builder().service_id(service).env("BUSGATE_TEST_ENDPOINT").profile("endpoint_url").build().unwrap();
        std::env::set_var("BUSGATE_TEST_ENDPOINT_DYNAMODB", "http://127.0.0.1:8000");
        std::env::set_var("BUSGATE_TEST_ENDPOINT_SECRETS_MANAGER", " ");
        assert_eq!(EnvEndpoints.load_config(key("DynamoDB")).as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(EnvEndpoints.load_config(key("SQS")), None);
        std::env::set_var("BUSGATE_TEST_ENDPOINT", "http://127.0.0.1:5000");
        assert_eq!(EnvEndpoints.load_config(key("SQS")).as_deref(), Some("http://127.0.0.1:5000"));
        // A blank service variable is absent; a service id with a space becomes `_`.
        assert_eq!(EnvEndpoints.load_config(key("Secrets Manager")).as_deref(), Some("http://127.0.0.1:5000"));
    }
}
