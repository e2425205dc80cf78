//! `busgate local`: every interface route in one process, on the embedded store, with the
//! delivery worker and the sweeper running in-process and a fake TOP endpoint that records
//! the callbacks Busgate sends (so a new user can watch the whole lifecycle with no AWS).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use busgate_adapters::{EmbeddedStore, InProcessQueue};
use busgate_domain::store::Store;
use busgate_domain::{Clock, SystemClock};
use busgate_edge::{handle_path, App, Config, Inbound, Outbound};
use busgate_signing::{parse_query, top_sign};
use serde_json::json;

/// Local mode's logging: one line per answered request and every warning, to `writer`
/// (`busgate local`: stderr; the benchmark: a file, so its load runs log as local mode does),
/// coloured only for a terminal. `BUSGATE_LOG` takes tracing's filter directives (default
/// `warn,busgate=info`).
pub fn init_logging<W>(writer: W, terminal: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BUSGATE_LOG").unwrap_or_else(|_| EnvFilter::new("warn,busgate=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(terminal).with_writer(writer).init();
}

/// The Qimen secret of local mode when `BUSGATE_QIMEN_SECRET` is not set.
pub const DEMO_QIMEN_SECRET: &str = "busgate-demo-secret";
/// The TOP app secret the fake TOP endpoint checks when `BUSGATE_TOP_SECRET` is not set.
pub const DEMO_TOP_SECRET: &str = "busgate-demo-top-secret";
/// The Fenbeitong company token of local mode when `BUSGATE_FENBEITONG_TOKENS` is not set.
pub const DEMO_FENBEITONG_TOKEN: &str = "demo-fenbeitong-token-0001";

/// One call the fake TOP endpoint received.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordedCall {
    pub method: String,
    /// Every parameter (system and business), `sign` included.
    pub params: std::collections::BTreeMap<String, String>,
    /// Whether the signature checked out with the configured TOP secret.
    pub signature_ok: bool,
    /// The answer given.
    pub answer: String,
}

/// A stand-in for Fliggy's TOP gateway: checks the signature, records the call, and answers
/// success, or the scripted answers queued by tests (failures first).
#[derive(Default)]
pub struct FakeTop {
    pub secret: String,
    pub calls: Mutex<Vec<RecordedCall>>,
    /// Scripted answers, used before the default success: (HTTP status, body); status 0 = drop
    /// the connection (a transport error).
    /// Each answer applies to one call of its method (`None`: of any method), in order.
    pub script: Mutex<VecDeque<(Option<String>, u16, String)>>,
}

impl FakeTop {
    pub fn new(secret: &str) -> Self {
        FakeTop { secret: secret.to_string(), ..Default::default() }
    }

    /// Queues answers to give (to calls of any method) before the default success.
    pub fn push_answers(&self, answers: impl IntoIterator<Item = (u16, String)>) {
        self.script.lock().expect("fake top lock").extend(answers.into_iter().map(|(s, b)| (None, s, b)));
    }

    /// Queues answers for calls of `method` only (other callbacks, such as the demo's
    /// `item.notify`, keep getting the default success).
    pub fn push_answers_for(&self, method: &str, answers: impl IntoIterator<Item = (u16, String)>) {
        self.script.lock().expect("fake top lock").extend(answers.into_iter().map(|(s, b)| (Some(method.to_string()), s, b)));
    }

    fn next_scripted(&self, method: &str) -> Option<(u16, String)> {
        let mut script = self.script.lock().expect("fake top lock");
        let i = script.iter().position(|(m, _, _)| m.as_deref().is_none_or(|m| m == method))?;
        script.remove(i).map(|(_, s, b)| (s, b))
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().expect("fake top lock").clone()
    }

    /// Accepted calls of a method (what Fliggy would have taken into account).
    pub fn delivered(&self, method: &str) -> Vec<RecordedCall> {
        self.calls().into_iter().filter(|c| c.method == method && c.answer.contains("\"is_success\":true")).collect()
    }

    fn answer(&self, raw_query: &str, body: &[u8]) -> (u16, String) {
        let mut params = parse_query(raw_query);
        params.extend(parse_query(&String::from_utf8_lossy(body)));
        let method = params.get("method").cloned().unwrap_or_default();
        let sign = params.get("sign").cloned().unwrap_or_default();
        let sign_method = params.get("sign_method").and_then(|m| m.parse().ok()).unwrap_or(busgate_signing::SignMethod::Md5);
        let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let signature_ok = busgate_signing::constant_time_eq(top_sign(&pairs, None, &self.secret, sign_method).as_bytes(), sign.as_bytes());
        let wrapper = format!("{}_response", method.trim_start_matches("taobao.").replace('.', "_"));
        let (status, answer) = if !signature_ok {
            (200, json!({"error_response": {"code": 25, "msg": "Invalid signature", "request_id": "fake"}}).to_string())
        } else if let Some(scripted) = self.next_scripted(&method) {
            scripted
        } else if method == "alitrip.serve.workorder.relation" {
            (
                200,
                json!({ wrapper: {"result": true, "msg_info": "成功", "data": {"case_id": format!("FC{}", rand_digits())}, "request_id": "fake"} })
                    .to_string(),
            )
        } else {
            (200, json!({ wrapper: {"is_success": true, "request_id": "fake"} }).to_string())
        };
        self.calls.lock().expect("fake top lock").push(RecordedCall { method, params, signature_ok, answer: answer.clone() });
        (status, answer)
    }
}

/// A request id unique in this process (`local-1`, `local-2`, …): log lines of concurrent
/// requests stay apart, where a clock reading could repeat.
fn next_request_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!("local-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn rand_digits() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64 % 1_000_000_000).unwrap_or(0)
}

/// What local mode needs to start.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub addr: SocketAddr,
    pub data: PathBuf,
    /// Load the demo operator into an empty store.
    pub demo: bool,
    /// How often the sweeper runs.
    pub sweep_every: Duration,
}

/// A running local mode.
pub struct Running {
    pub addr: SocketAddr,
    pub app: App,
    pub fake_top: Arc<FakeTop>,
    pub server: tokio::task::JoinHandle<()>,
    pub background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stops the server and the background tasks.
    pub fn stop(self) {
        self.server.abort();
        for t in self.background {
            t.abort();
        }
    }
}

/// Local mode's configuration: the environment, with demo defaults for what a first run lacks.
pub fn local_config(env: &dyn Fn(&str) -> Option<String>, addr: SocketAddr) -> Result<Config, String> {
    // A secret set to nothing is a mistake (an unexpanded variable, an empty file), not a wish
    // for the public demo secret: stop and say so.
    for var in ["BUSGATE_QIMEN_SECRET", "BUSGATE_TOP_SECRET", "BUSGATE_FENBEITONG_TOKENS"] {
        if env(var).is_some_and(|v| v.trim().is_empty()) {
            return Err(format!("configuration: {var} is set but empty; give it a value, or unset it to use the demo value"));
        }
    }
    let defaults = move |k: &str| -> Option<String> {
        match env(k).filter(|v| !v.trim().is_empty()) {
            Some(v) => Some(v),
            None => match k {
                "BUSGATE_QIMEN_SECRET" => Some(DEMO_QIMEN_SECRET.into()),
                "BUSGATE_TOP_URL" => Some(format!("http://{addr}/_local/top")),
                "BUSGATE_TOP_APP_KEY" => Some("12345678".into()),
                "BUSGATE_TOP_SECRET" => Some(DEMO_TOP_SECRET.into()),
                "BUSGATE_TOP_SESSION" => Some("demo-session".into()),
                "BUSGATE_RELATION_APP_NAME" => Some("busgate-demo".into()),
                "BUSGATE_RELATION_APP_SECRET" => Some("demo-relation-secret".into()),
                "BUSGATE_FENBEITONG_TOKENS" => Some(format!("demo={DEMO_FENBEITONG_TOKEN}")),
                "BUSGATE_FENBEITONG_URL" => Some(format!("http://{addr}/_local/fenbeitong")),
                "BUSGATE_FENBEITONG_SIGN_KEY" => Some("demo-sign-key".into()),
                "BUSGATE_FENBEITONG_ACCESS_TOKEN" => Some("demo-access-token".into()),
                _ => None,
            },
        }
    };
    let config = Config::from_lookup(&defaults).map_err(|e| format!("configuration: {e}"))?;
    config.check_fenbeitong_tokens().map_err(|e| format!("configuration: {e}"))?;
    Ok(config)
}

/// Opens the store, loads the demo data if asked and the store is empty, and starts the
/// server, the worker and the sweeper.
pub async fn start(opts: LocalOptions, env: &dyn Fn(&str) -> Option<String>) -> Result<Running, String> {
    let listener = tokio::net::TcpListener::bind(opts.addr).await.map_err(|e| format!("cannot listen on {}: {e}", opts.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let config = local_config(env, addr)?;
    let fake_top = Arc::new(FakeTop::new(config.top.secret.expose()));
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&opts.data).map_err(|e| format!("store in {}: {e}", opts.data.display()))?);
    let queue = Arc::new(InProcessQueue::new(Duration::from_secs(30), config.retry.max_attempts + 2));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::new(config, store, queue, clock);
    // The in-process queue starts empty: callbacks left pending by an earlier run (or by a
    // back-office command run while the server was stopped) are queued again now.
    let requeued = busgate_edge::outbound::delivery::requeue_overdue(&app, chrono::Duration::zero()).await.map_err(|e| e.to_string())?;
    if requeued > 0 {
        tracing::info!(requeued, "pending callbacks queued again");
    }
    if opts.demo {
        crate::demo::load_if_empty(&app).await?;
    }
    let operator = env("BUSGATE_OPERATOR").map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).unwrap_or_else(|| LOCAL_OPERATOR.to_string());
    let router = router(Shared { app: app.clone(), fake_top: fake_top.clone(), operator });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let background = vec![
        tokio::spawn(busgate_edge::outbound::delivery::run_local_worker(app.clone())),
        tokio::spawn(busgate_edge::outbound::sweeper::run_local_sweeper(app.clone(), opts.sweep_every)),
    ];
    Ok(Running { addr, app, fake_top, server, background })
}

/// The console's operator in local mode when `BUSGATE_OPERATOR` is not set.
pub const LOCAL_OPERATOR: &str = "本地操作员";

/// Every route of local mode: the interfaces, the console under `/console/`, and under
/// `/_local/` the fakes and the back office. The console and `/_local/` answer loopback
/// callers only (the fake TOP's records carry credentials; the console has no sign-in here).
pub fn router(shared: Shared) -> Router {
    let console =
        busgate_backoffice::console::router(shared.app.clone(), busgate_backoffice::console::SignIn::Local { operator: shared.operator.clone() })
            .route_layer(axum::middleware::from_fn(loopback_only));
    let local_only = Router::new()
        .route("/_local/top", post(fake_top_handler).get(recorded_calls))
        .route("/_local/health", get(|| async { "ok" }))
        .route("/_local/fenbeitong/{*path}", post(fake_fenbeitong_handler))
        .route("/_local/admin", post(admin_handler))
        .route_layer(axum::middleware::from_fn(loopback_only));
    Router::new().merge(local_only).fallback(interface).with_state(shared).merge(console)
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request, next: axum::middleware::Next) -> Response {
    if !peer.ip().is_loopback() {
        tracing::warn!(peer = %peer.ip(), path = %req.uri().path(), "refused: /_local/ answers loopback callers only");
        return (http::StatusCode::FORBIDDEN, "/_local/ answers loopback callers only").into_response();
    }
    next.run(req).await
}

/// What local mode's routes share.
#[derive(Clone)]
pub struct Shared {
    pub app: App,
    pub fake_top: Arc<FakeTop>,
    /// Who acts in the console (`BUSGATE_OPERATOR`, else [`LOCAL_OPERATOR`]).
    pub operator: String,
}

/// Reads at most `limit + 1` bytes: enough for the pipeline to see that a body is too large,
/// without buffering an arbitrarily large one.
async fn read_capped(body: Body, limit: usize) -> axum::body::Bytes {
    use http_body_util::BodyExt;
    let mut out = Vec::new();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            let room = (limit + 1).saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
            if out.len() > limit {
                break;
            }
        }
    }
    out.into()
}

async fn interface(State(s): State<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != http::Method::POST {
        return (http::StatusCode::METHOD_NOT_ALLOWED, "POST only").into_response();
    }
    let body = read_capped(body, s.app.config.inbound.max_body_bytes.max(1 << 20)).await;
    let inbound = Inbound {
        path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
        body,
        source_ip: Some(peer.ip().to_string()),
        request_id: next_request_id(),
    };
    let Outbound { status, body } = handle_path(&s.app, inbound).await;
    Response::builder().status(status).header("content-type", Outbound::CONTENT_TYPE).body(Body::from(body)).expect("valid response")
}

/// `POST /_local/admin`: runs a back-office command (`busgate catalogue …`, `outbox …`, …) with
/// this server's App, so its callbacks go through the running worker. Loopback callers only.
async fn admin_handler(State(s): State<Shared>, req: Request) -> Response {
    let limit = crate::admin::MAX_ADMIN_REQUEST_BYTES;
    let (parts, body) = req.into_parts();
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = read_capped(body, limit).await;
    let (status, answer) = if body.len() > limit {
        (413, json!({"error": format!("admin request larger than {limit} bytes")}).to_string())
    } else {
        crate::admin::serve_http(&s.app, content_type.as_deref(), &body).await
    };
    Response::builder().status(status).header("content-type", "application/json;charset=utf-8").body(Body::from(answer)).expect("valid response")
}

async fn fake_top_handler(State(s): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_capped(body, 1 << 20).await;
    let (status, answer) = s.fake_top.answer(parts.uri.query().unwrap_or_default(), &body);
    if status == 0 {
        // A scripted transport failure: answer nothing useful.
        return (http::StatusCode::BAD_GATEWAY, "").into_response();
    }
    Response::builder().status(status).header("content-type", "application/json;charset=utf-8").body(Body::from(answer)).expect("valid response")
}

async fn fake_fenbeitong_handler(State(s): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_capped(body, 1 << 20).await;
    let params = parse_query(&String::from_utf8_lossy(&body));
    let answer = json!({"request_id": "fake", "code": 0, "msg": "success", "data": {}}).to_string();
    s.fake_top.calls.lock().expect("fake top lock").push(RecordedCall {
        method: format!("fenbeitong:{}", parts.uri.path().trim_start_matches("/_local/fenbeitong")),
        params,
        signature_ok: true,
        answer: answer.clone(),
    });
    Response::builder().header("content-type", "application/json").body(Body::from(answer)).expect("valid response")
}

async fn recorded_calls(State(s): State<Shared>) -> Response {
    Response::builder()
        .header("content-type", "application/json;charset=utf-8")
        .body(Body::from(json!(s.fake_top.calls()).to_string()))
        .expect("valid response")
}

/// A signed example request, ready to paste (its timestamp is now, so it is valid for the
/// configured window).
pub fn example_request(base_url: &str, secret: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let body = r#"{"fromCity":"上海"}"#;
    let route = busgate_edge::Route::Bus(busgate_edge::BusRoute::FromCities);
    let method = route.default_method().unwrap_or_default();
    let query = busgate_signing::qimen_query(method, body.as_bytes(), secret, &busgate_signing::format_timestamp(now));
    format!("curl -s -X POST '{base_url}{}?{query}' -H 'Content-Type: application/json;charset=utf-8' --data-raw '{body}'", route.path())
}

/// What `busgate local` prints when it is ready.
pub fn banner(running: &Running, data: &std::path::Path) -> String {
    let base = running.base_url();
    let cfg = &running.app.config;
    let secret = cfg.inbound.qimen_secret.expose();
    let shown = if secret == DEMO_QIMEN_SECRET { secret.to_string() } else { "(from BUSGATE_QIMEN_SECRET)".to_string() };
    let token = if cfg.fenbeitong.tokens.expose() == format!("demo={DEMO_FENBEITONG_TOKEN}") { DEMO_FENBEITONG_TOKEN } else { "<your token>" };
    let mut routes = String::new();
    for r in busgate_edge::Route::ALL {
        routes.push_str(&format!("    POST {base}{}\n", r.path()));
    }
    format!(
        "Busgate local mode is ready on {base}\n\
         \x20 store:            {} (embedded; kept across restarts)\n\
         \x20 Qimen secret:     {shown}\n\
         \x20 Fenbeitong URL:   {base}/fenbeitong/notify/{token}\n\
         \x20 operator console: {base}/console/\n\
         \x20 fake TOP (callbacks sent to Fliggy are recorded here): GET {base}/_local/top\n\
         \x20 routes:\n{routes}\n\
         Try it (signed now; valid for {} s):\n  {}\n",
        data.display(),
        cfg.inbound.timestamp_window_secs,
        example_request(&base, secret, running.app.clock.now())
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_never_repeat_across_threads() {
        let ids: Vec<String> = std::thread::scope(|s| {
            (0..4)
                .map(|_| s.spawn(|| (0..1000).map(|_| super::next_request_id()).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 4000);
        assert!(ids.iter().all(|id| id.starts_with("local-")));
    }
}
