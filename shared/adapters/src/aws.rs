//! The one AWS configuration helper. Every SDK client is built from it, so the rustls/ring
//! HTTP client is always set (without it the slim SDK build panics at the first call).

use aws_config::{BehaviorVersion, SdkConfig};

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
pub async fn connect_store(table: &str) -> crate::DynamoStore {
    crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws_config().await), table)
}

/// The production adapters: the DynamoDB table and the SQS queue pair, on one configuration.
pub async fn connect(table: &str, queue_url: &str, dlq_url: &str) -> (crate::DynamoStore, crate::SqsQueue) {
    let sdk = aws_config().await;
    (crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table), crate::SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url, dlq_url))
}
