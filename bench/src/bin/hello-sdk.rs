//! The second baseline of the start-up and size benchmarks: the hello-world of
//! `hello-lambda` plus what every AWS function pays for at init, the AWS configuration and a
//! DynamoDB and an SQS client (the workspace's features and release profile, the same HTTP
//! client as the functions). Its handler uses both clients' names so neither is optimised away.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = busgate_adapters::aws_config().await;
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
