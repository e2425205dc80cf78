//! Lambda glue: every `functions/<name>/main.rs` calls one of these.

use std::convert::Infallible;

use lambda_http::{service_fn, Body, Request, RequestExt, Response};

use crate::app::App;
use crate::config::Config;
use crate::pipeline::{handle, Inbound, Outbound};
use crate::routes::Route;

/// Structured JSON logs (CloudWatch, request id from the runtime's span).
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Configuration and dependencies, once per cold start; a bad configuration stops the
/// function at init with the variable's name (never its value).
pub async fn init() -> Result<App, lambda_runtime::Error> {
    init_logging();
    let mut config = Config::from_env().map_err(|e| format!("configuration: {e}"))?;
    crate::secrets::resolve(&mut config).await.map_err(|e| format!("secrets: {e}"))?;
    Ok(App::aws(config).await)
}

/// The request side of the glue: an API Gateway (payload v2) request as the pipeline's
/// [`Inbound`], raw query and body bytes untouched.
pub fn inbound(req: Request) -> Inbound {
    let request_id = req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
    let source_ip = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        _ => None,
    };
    let (parts, body) = req.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(t) => bytes::Bytes::from(t),
        Body::Binary(b) => bytes::Bytes::from(b),
        _ => bytes::Bytes::new(),
    };
    Inbound {
        path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body,
        source_ip,
        request_id,
    }
}

/// The response side of the glue.
pub fn outbound(out: Outbound) -> Response<Body> {
    Response::builder()
        .status(out.status)
        .header("content-type", Outbound::CONTENT_TYPE)
        .body(Body::Binary(out.body))
        .expect("valid response")
}

/// Runs an HTTP interface function.
pub async fn run_http(route: Route) -> Result<(), lambda_runtime::Error> {
    let app = init().await?;
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(outbound(handle(&app, route, inbound(req)).await)) }
    }))
    .await
}

/// Runs the outbox worker: one delivery attempt per SQS record, partial batch failures for
/// the ones to retry (their visibility is set to the backoff first).
pub async fn run_worker() -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    use busgate_domain::queue::Lane;
    use lambda_runtime::LambdaEvent;

    let app = init().await?;
    let http = reqwest::Client::new();
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, http) = (app.clone(), http.clone());
        async move {
            let mut response = SqsBatchResponse::default();
            for record in event.payload.records {
                let (Some(id), Some(body)) = (record.message_id.clone(), record.body.clone()) else { continue };
                let d = crate::delivery::attempt(&app, &http, &body).await;
                let failed = match &d {
                    crate::delivery::Disposition::Done => false,
                    crate::delivery::Disposition::RetryAfter(secs) => {
                        if let Some(receipt) = &record.receipt_handle {
                            let _ = app.queue.retry_after(Lane::Main, receipt, *secs).await;
                        }
                        true
                    }
                    crate::delivery::Disposition::Dead(reason) => app
                        .queue
                        .send(Lane::Dead, &crate::delivery::dead_letter_body(&body, reason), 0)
                        .await
                        .is_err(),
                };
                if failed && !id.is_empty() {
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = id;
                    response.batch_item_failures.push(f);
                }
            }
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}

/// Runs the sweeper on its schedule (the event itself carries nothing we need).
pub async fn run_sweeper() -> Result<(), lambda_runtime::Error> {
    let app = init().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { Ok::<_, lambda_runtime::Error>(serde_json::json!({"report": crate::sweeper::sweep(&app).await})) }
    }))
    .await
}
