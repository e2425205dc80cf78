//! The one AWS configuration helper. Every SDK client is built from it, so the rustls/ring
//! HTTP client is always set (without it the slim SDK build panics at the first call).

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the AWS configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL_*` for emulators) with the ring-based rustls HTTP client.
pub async fn aws_config() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
}

/// The production adapters: the DynamoDB table and the SQS queue pair, on one configuration.
pub async fn connect(table: &str, queue_url: &str, dlq_url: &str) -> (crate::DynamoStore, crate::SqsQueue) {
    let sdk = aws_config().await;
    (
        crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        crate::SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url, dlq_url),
    )
}
