//! The second baseline of the start-up and size benchmarks: the hello-world of
//! `hello-lambda` plus what every AWS function pays for at init, the AWS configuration and a
//! DynamoDB and an SQS client, as a hello-world writes them: aws-config's default chains and
//! the SDK's rustls/ring HTTP client with its default trust store (the native roots), on the
//! workspace's features. Busgate's own helper (`busgate_adapters::aws`) is not used, so what
//! it saves shows against this. Its handler uses both clients' names so neither is optimised away.

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let sdk = aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let region = dynamodb.config().region().map(|r| r.to_string()).unwrap_or_default();
    let sqs_region = sqs.config().region().map(|r| r.to_string()).unwrap_or_default();
    let body = format!(r#"{{"hello":"world","dynamodb":"{region}","sqs":"{sqs_region}"}}"#);
    run(service_fn(move |_req: Request| {
        let body = body.clone();
        async move { Ok::<_, Error>(Response::builder().status(200).header("content-type", "application/json").body(Body::from(body)).expect("response")) }
    }))
    .await
}
