//! 3: process start to ready. A fake Lambda Runtime API on loopback answers the first
//! `GET /2018-06-01/runtime/invocation/next` with one API Gateway (payload v2) event and
//! records the `POST …/response`; the time from spawn to the first `next` poll is the
//! function's init (configuration, AWS SDK clients, runtime). The event is an unsigned request,
//! answered before any store call, so no AWS endpoint is needed: the AWS variables point at
//! loopback dummies and init must not call them.

use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::{Options, Stats};

#[derive(Default)]
struct Seen {
    first_next: Option<Instant>,
    response: Option<(Instant, String)>,
    init_error: Option<String>,
}

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

fn event() -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /fliggy/bus/seats",
        "rawPath": "/fliggy/bus/seats",
        "rawQueryString": "method=qimen.alitrip.custombus.product.seat.query&sign=00",
        "headers": {"content-type": "application/json;charset=utf-8", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "POST", "path": "/fliggy/bus/seats", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "POST /fliggy/bus/seats", "stage": "$default",
            "time": "01/Jun/2026:10:00:00 +0000", "timeEpoch": 1_780_000_000_000u64
        },
        "body": "{\"scheduleId\":\"x\"}",
        "isBase64Encoded": false
    })
    .to_string()
}

/// Serves the Runtime API on an ephemeral loopback port until the returned handle is aborted.
async fn fake_runtime(seen: Arc<Mutex<Seen>>) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let ok = |body: String| hyper::Response::builder().status(200).body(Full::new(Bytes::from(body))).expect("response");
                        if path.ends_with("/invocation/next") {
                            let first = {
                                let mut s = seen.lock().expect("seen");
                                let first = s.first_next.is_none();
                                if first {
                                    s.first_next = Some(Instant::now());
                                }
                                first
                            };
                            if !first {
                                // The runtime polls again after its answer: keep it waiting.
                                tokio::time::sleep(Duration::from_secs(60)).await;
                            }
                            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                            return Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(200)
                                    .header("content-type", "application/json")
                                    .header("lambda-runtime-aws-request-id", REQUEST_ID)
                                    .header("lambda-runtime-deadline-ms", deadline.to_string())
                                    .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                                    .header("lambda-runtime-trace-id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
                                    .body(Full::new(Bytes::from(event())))
                                    .expect("response"),
                            );
                        }
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let text = String::from_utf8_lossy(&body).into_owned();
                        let mut s = seen.lock().expect("seen");
                        // An invocation error (the worker given an HTTP event) is its first answer too.
                        if path.ends_with("/response") || (path.contains("/invocation/") && path.ends_with("/error")) {
                            s.response.get_or_insert((Instant::now(), text));
                        } else if path.ends_with("/init/error") {
                            s.init_error.get_or_insert(format!("{path}: {text}"));
                        }
                        Ok(ok(r#"{"status":"OK"}"#.to_string()))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, task)
}

/// One start: (spawn → first next, spawn → first response), or why not.
async fn start_once(binary: &Path) -> Result<(f64, f64, String), String> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (addr, server) = fake_runtime(seen.clone()).await;
    let dead = "http://127.0.0.1:9";
    let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // std::process (the workspace builds tokio without its `process` feature); polled below.
    let mut cmd = std::process::Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_SESSION_TOKEN", "bench-token")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/busgate-bench/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/busgate-bench/credentials")
        .env("AWS_ENDPOINT_URL", dead)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dead)
        .env("AWS_ENDPOINT_URL_SQS", dead)
        .env("BUSGATE_STAGE", "bench")
        .env("BUSGATE_QIMEN_SECRET", "busgate-bench-secret")
        .env("BUSGATE_TOP_SECRET", "bench-top-secret")
        .env("BUSGATE_TOP_SESSION", "bench-session")
        .env("BUSGATE_TOP_APP_KEY", "12345678")
        .env("BUSGATE_FENBEITONG_TOKENS", "demo=bench-fenbeitong-token-0001")
        .env("BUSGATE_TABLE", "busgate-bench")
        .env("BUSGATE_QUEUE_URL", format!("{dead}/000000000000/busgate"))
        .env("BUSGATE_DLQ_URL", format!("{dead}/000000000000/busgate-dlq"))
        .env("BUSGATE_CONSOLE_AUTH_URL", dead)
        .env("BUSGATE_CONSOLE_CLIENT_ID", "bench-client")
        .env("BUSGATE_RELATION_APP_NAME", "bench")
        .env("BUSGATE_FENBEITONG_URL", dead)
        .env("BUSGATE_FENBEITONG_ACCESS_TOKEN", "bench-access-token")
        .env("BUSGATE_FENBEITONG_SIGN_KEY", "bench-sign-key")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let spawned = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let limit = spawned + Duration::from_secs(10);
    let outcome = loop {
        {
            let s = seen.lock().expect("seen");
            if let Some(e) = &s.init_error {
                break Err(format!("init error: {e}"));
            }
            if let (Some(next), Some((resp, body))) = (s.first_next, &s.response) {
                break Ok(((next - spawned).as_secs_f64() * 1e3, (*resp - spawned).as_secs_f64() * 1e3, body.clone()));
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("{} exited with {status} before answering", binary.display()));
        }
        if Instant::now() > limit {
            break Err(format!("{} did not answer within 10 s", binary.display()));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let _ = child.kill();
    let output = child.wait_with_output().ok();
    server.abort();
    outcome.map_err(|e| {
        let stderr = output.map(|o| String::from_utf8_lossy(&o.stderr).chars().take(400).collect::<String>()).unwrap_or_default();
        format!("{e} {stderr}")
    })
}

/// Functions that serve HTTP (the others take SQS or schedule events).
fn serves_http(name: &str) -> bool {
    !matches!(name, "outbox-worker" | "sweeper")
}

/// Starts every function binary and both baselines, alternated round by round so that all see
/// the same machine; returns each one's figures against `hello-sdk`.
pub async fn run(opts: &Options) -> serde_json::Value {
    md!("## 3. Process start to ready (fake Lambda Runtime API on loopback)\n");
    let release = &opts.bin_dir;
    let mut binaries: Vec<(String, std::path::PathBuf)> = crate::function_names().into_iter().map(|n| (n.clone(), release.join(n))).collect();
    binaries.push(("hello-lambda".into(), release.join("hello-lambda")));
    binaries.push(("hello-sdk (release profile)".into(), release.join("hello-sdk")));
    let baseline = crate::baseline_hello_sdk(opts);
    let sdk_name = if baseline.is_some() { "hello-sdk (LTO, opt-level 3)" } else { "hello-sdk (release profile)" };
    if let Some(b) = baseline {
        binaries.push((sdk_name.into(), b));
    }
    let missing: Vec<&std::path::PathBuf> = binaries.iter().map(|(_, p)| p).filter(|p| !p.exists()).collect();
    if !missing.is_empty() {
        md!("Not measured: {missing:?} missing (build them first: `cargo build --release --workspace --bins`).\n");
        return serde_json::json!({"error": format!("missing binaries: {missing:?}")});
    }
    struct Row {
        name: String,
        ready: Vec<f64>,
        answered: Vec<f64>,
        answer: String,
        failed: Option<String>,
    }
    let mut rows: Vec<Row> =
        binaries.iter().map(|(n, _)| Row { name: n.clone(), ready: Vec::new(), answered: Vec::new(), answer: String::new(), failed: None }).collect();
    for _ in 0..opts.starts {
        for (row, (_, path)) in rows.iter_mut().zip(&binaries).filter(|(r, _)| r.failed.is_none()) {
            match start_once(path).await {
                Ok((ready, answered, body)) => {
                    row.ready.push(ready);
                    row.answered.push(answered);
                    row.answer = body.chars().take(80).collect();
                }
                Err(e) => row.failed = Some(e),
            }
        }
    }
    let stats: Vec<(Stats, Stats)> = rows.iter_mut().map(|r| (Stats::of(&mut r.ready), Stats::of(&mut r.answered))).collect();
    let at = |name: &str| rows.iter().position(|r| r.name == name).map(|i| stats[i]);
    let (lambda, sdk) = (at("hello-lambda").unwrap_or_default(), at(sdk_name).unwrap_or_default());
    md!(
        "Spawn → first `GET …/runtime/invocation/next` (ready), and spawn → the `POST …/response` of one event (an \
         unsigned request to an HTTP function: answered by the signature check, before any store call; the worker \
         and the sweeper answer it with an invocation error). {} starts per binary, alternated; environment: no SSM \
         (secrets given directly), AWS endpoints pointed at a closed loopback port. Baselines: `hello-lambda` (lambda_http \
         hello-world) and `hello-sdk` (the same plus aws-config, a DynamoDB and an SQS client built at init); \
         the ratios are against {sdk_name}.\n",
        opts.starts
    );
    md!("| binary | ready median ms | ready p90 ms | first answer median ms | first answer × hello-sdk | ready × hello-lambda | answer |");
    md!("|---|---:|---:|---:|---:|---:|---|");
    let mut out = Vec::new();
    for (r, (ready, answered)) in rows.iter().zip(&stats) {
        if let Some(e) = &r.failed {
            md!("| {} | failed: {} | | | | | |", r.name, e.replace('|', "\\|").chars().take(200).collect::<String>());
            out.push(serde_json::json!({"binary": r.name, "http": serves_http(&r.name), "error": e}));
            continue;
        }
        let x_sdk = answered.median / sdk.1.median;
        md!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× | `{}` |",
            r.name,
            ready.median,
            ready.p90,
            answered.median,
            x_sdk,
            ready.median / lambda.0.median,
            r.answer.replace('|', "\\|")
        );
        out.push(serde_json::json!({
            "binary": r.name, "http": serves_http(&r.name) && !r.name.starts_with("hello-"), "starts": ready.n,
            "ready_median_ms": ready.median, "ready_p90_ms": ready.p90, "first_response_median_ms": answered.median,
            "first_response_x_hello_sdk": x_sdk, "baseline": sdk_name, "ready_x_hello_lambda": ready.median / lambda.0.median,
        }));
    }
    md!();
    serde_json::json!({"starts": opts.starts, "binaries": out})
}
