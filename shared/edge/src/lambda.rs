//! Lambda glue: every `functions/<name>/main.rs` calls one of these.

use std::convert::Infallible;

use lambda_http::{service_fn, Body, Request, RequestExt, Response};

use crate::app::App;
use crate::config::{Config, Requirement};
use crate::inbound::pipeline::{Inbound, Outbound};

/// Structured JSON logs (CloudWatch, request id from the runtime's span): lambda_runtime's
/// default subscriber (`AWS_LAMBDA_LOG_FORMAT`, level from `AWS_LAMBDA_LOG_LEVEL` or
/// `RUST_LOG`) with a level filter instead of its `EnvFilter`, whose regex engine every
/// function would otherwise link and build at init for a single level (per-target directives
/// are not supported; a level is all the template sets).
pub fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = level.ok().and_then(|l| l.trim().parse::<LevelFilter>().ok()).unwrap_or(LevelFilter::INFO);
    let collector = tracing_subscriber::fmt().with_target(false).without_time().with_max_level(level);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // `try_init`: a test process may have installed one already.
    let _ = if json { collector.json().try_init() } else { collector.try_init() };
}

/// Configuration, once per cold start; a bad or missing setting stops the function at init
/// with the variable's name (never its value), rather than serving with an empty secret.
pub async fn init_config(needs: &[Requirement]) -> Result<Config, lambda_runtime::Error> {
    init_logging();
    let fail = |e: String| {
        tracing::error!(error = %e, "init failed");
        lambda_runtime::Error::from(e)
    };
    let mut config = Config::from_env().map_err(|e| fail(format!("configuration: {e}")))?;
    crate::secrets::resolve(&mut config).await.map_err(|e| fail(format!("secrets: {e}")))?;
    config.require(needs).map_err(|e| fail(format!("configuration: {e}")))?;
    Ok(config)
}

/// [`init_config`], then the store and the outbox queue.
pub async fn init(needs: &[Requirement]) -> Result<App, lambda_runtime::Error> {
    Ok(App::aws_function(init_config(needs).await?))
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
    let headers = parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(t) => bytes::Bytes::from(t),
        Body::Binary(b) => bytes::Bytes::from(b),
        _ => bytes::Bytes::new(),
    };
    Inbound { path: parts.uri.path().to_string(), raw_query: parts.uri.query().unwrap_or_default().to_string(), headers, body, source_ip, request_id }
}

/// The response side of the glue.
pub fn outbound(out: Outbound) -> Response<Body> {
    Response::builder().status(out.status).header("content-type", Outbound::CONTENT_TYPE).body(Body::Binary(out.body)).expect("valid response")
}

/// Serves HTTP requests with `serve` until the runtime stops.
async fn serve_http<F, Fut>(app: App, serve: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(App, Inbound) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Outbound> + Send,
{
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(outbound(serve(app, inbound(req)).await)) }
    }))
    .await
}

/// Runs the function of one bus interface. It links that interface's handler and nothing of
/// the others; a catalogue read (`!I::WRITES`) builds no queue client either.
pub async fn run_bus<I: crate::inbound::bus::Interface>() -> Result<(), lambda_runtime::Error> {
    let app = I::connect(init_config(I::NEEDS).await?).await;
    serve_http(app, |app, req| async move { crate::inbound::pipeline::handle_bus::<I>(&app, req).await }).await
}

/// Runs the collaboration work order callback's function.
pub async fn run_relation() -> Result<(), lambda_runtime::Error> {
    let app = init(&[Requirement::QimenSecret, Requirement::Queue]).await?;
    serve_http(app, |app, req| async move { crate::inbound::pipeline::handle_relation(&app, req).await }).await
}

/// Runs the Fenbeitong notice function.
pub async fn run_fenbeitong() -> Result<(), lambda_runtime::Error> {
    let config = init_config(&[Requirement::FenbeitongTokens, Requirement::Queue]).await?;
    config.check_fenbeitong_tokens().map_err(|e| {
        tracing::error!(error = %e, "init failed");
        lambda_runtime::Error::from(format!("configuration: {e}"))
    })?;
    let app = App::aws_function(config);
    serve_http(app, |app, req| async move { crate::inbound::pipeline::handle_fenbeitong(&app, req).await }).await
}

/// Time kept back from the function's deadline to answer the batch (and settle what finished).
const WORKER_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs the outbox worker: the records of a batch are attempted concurrently (one slow partner
/// does not hold up the others), each within what is left of the function's deadline; records
/// to retry are reported as partial batch failures (their visibility set to the backoff
/// first), a dead one is moved to the dead-letter queue as it is. A record still running at
/// the deadline is reported failed and comes back after its visibility timeout.
pub async fn run_worker() -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::sqs::SqsEvent;
    use lambda_runtime::LambdaEvent;

    let app = init(&[Requirement::PartnerCalls, Requirement::Queue, Requirement::DeadLetterQueue]).await?;
    let partners = app.config.partners();
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, partners) = (app.clone(), partners.clone());
        async move {
            let left_ms = event.context.deadline as i64 - chrono::Utc::now().timestamp_millis();
            let budget = std::time::Duration::from_millis(left_ms.max(0) as u64).saturating_sub(WORKER_MARGIN);
            Ok::<_, lambda_runtime::Error>(worker_batch(&app, &partners, event.payload.records, budget).await)
        }
    }))
    .await
}

/// One SQS batch of the worker, within `budget`: the records attempted concurrently; the
/// answer lists the records that must come back.
pub async fn worker_batch(
    app: &App,
    partners: &std::sync::Arc<dyn busgate_domain::outbox::Partners>,
    records: Vec<aws_lambda_events::sqs::SqsMessage>,
    budget: std::time::Duration,
) -> aws_lambda_events::sqs::SqsBatchResponse {
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
    use busgate_domain::queue::Lane;

    let mut attempts = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for record in records {
        let (Some(id), Some(body)) = (record.message_id.clone(), record.body.clone()) else { continue };
        ids.push(id.clone());
        let (app, partners, receipt) = (app.clone(), partners.clone(), record.receipt_handle.clone());
        attempts.spawn(async move {
            let d = crate::outbound::delivery::attempt(&app, partners.as_ref(), &body).await;
            let settled = match &d {
                crate::outbound::delivery::Disposition::Done => true,
                crate::outbound::delivery::Disposition::RetryAfter(secs) => {
                    if let Some(receipt) = &receipt {
                        let _ = app.queue.retry_after(Lane::Main, receipt, *secs).await;
                    }
                    false
                }
                // Deleted from the main queue (by the event source) only once it is in the DLQ.
                crate::outbound::delivery::Disposition::Dead(_) => app.queue.send(Lane::Dead, &body, 0).await.is_ok(),
            };
            (id, settled)
        });
    }
    let mut done = std::collections::HashSet::new();
    let collected = tokio::time::timeout(budget, async {
        while let Some(r) = attempts.join_next().await {
            if let Ok((id, true)) = r {
                done.insert(id);
            }
        }
    })
    .await;
    if collected.is_err() {
        tracing::warn!(unfinished = attempts.len(), "deadline near: unfinished records left for their next receive");
        attempts.abort_all();
    }
    let mut response = SqsBatchResponse::default();
    for id in ids.into_iter().filter(|id| !id.is_empty() && !done.contains(id)) {
        let mut f = BatchItemFailure::default();
        f.item_identifier = id;
        response.batch_item_failures.push(f);
    }
    response
}

/// Runs the sweeper on its schedule (the event itself carries nothing we need).
pub async fn run_sweeper() -> Result<(), lambda_runtime::Error> {
    let app = init(&[Requirement::Queue]).await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { Ok::<_, lambda_runtime::Error>(serde_json::json!({"report": crate::outbound::sweeper::sweep(&app).await})) }
    }))
    .await
}
