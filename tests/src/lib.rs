//! Helpers shared by the integration and end-to-end tests.

use std::sync::Arc;

use busgate_adapters::{DynamoStore, SqsQueue};

/// Whether the emulators must be there (the test command sets this): then a missing emulator
/// fails the test instead of skipping it.
pub fn emulators_required() -> bool {
    std::env::var("BUSGATE_TEST_EMULATORS").is_ok_and(|v| v == "1")
}

fn emulator_endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(!emulators_required(), "{var} is not set but BUSGATE_TEST_EMULATORS=1: start infra/emulators.sh");
            eprintln!("skipping: {var} not set (run the suite with infra/test.sh to include the emulators)");
            None
        }
    }
}

/// A unique name for a table or queue, so tests run in parallel against one emulator.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// A fresh DynamoDB table on the emulator (DynamoDB Local), or None when not configured.
pub async fn emulator_store() -> Option<Arc<DynamoStore>> {
    emulator_endpoint("AWS_ENDPOINT_URL_DYNAMODB")?;
    let sdk = busgate_adapters::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), unique("busgate-test"));
    store.ensure_table().await.expect("create table on the emulator");
    Some(Arc::new(store))
}

/// A fresh SQS queue pair on the emulator (moto), or None when not configured.
pub async fn emulator_queue(visibility_secs: u32, max_receives: u32) -> Option<Arc<SqsQueue>> {
    emulator_endpoint("AWS_ENDPOINT_URL_SQS")?;
    let sdk = busgate_adapters::aws_config().await;
    let q = SqsQueue::create(aws_sdk_sqs::Client::new(&sdk), &unique("busgate-test"), visibility_secs, max_receives)
        .await
        .expect("create queues on the emulator");
    Some(Arc::new(q))
}

/// A fresh embedded store in a temporary directory (kept alive by the returned guard).
pub fn embedded_store() -> (Arc<busgate_adapters::EmbeddedStore>, TempDir) {
    let dir = TempDir::new();
    (Arc::new(busgate_adapters::EmbeddedStore::open(&dir.0).expect("open embedded store")), dir)
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(unique("busgate"));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Local mode's options for tests: an ephemeral loopback port, the store in `dir`, the demo
/// operator, and a sweeper that stays out of the way (hourly).
pub fn local_options(dir: &TempDir) -> busgate_cli::local::LocalOptions {
    busgate_cli::local::LocalOptions {
        addr: "127.0.0.1:0".parse().expect("address"),
        data: dir.0.clone(),
        demo: true,
        sweep_every: std::time::Duration::from_secs(3600),
    }
}

/// Local mode on an ephemeral port and a temporary store, with the demo operator.
pub async fn start_local(extra_env: &[(&str, &str)]) -> (busgate_cli::local::Running, TempDir) {
    let dir = TempDir::new();
    let extra: Vec<(String, String)> = extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let env = move |k: &str| extra.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone());
    let opts = local_options(&dir);
    let running = busgate_cli::local::start(opts, &env).await.expect("local mode starts");
    (running, dir)
}

/// The query of a Qimen call of `method`, signed with the project's signer (for tests that are
/// not about signing; `signing` tests and the e2e test use the independent Python signer).
pub fn signed_query(method: &str, body: &[u8], secret: &str, timestamp: &str) -> String {
    let params = [
        ("app_key", "12345678"),
        ("format", "json"),
        ("method", method),
        ("sign_method", "md5"),
        ("target_app_key", "87654321"),
        ("timestamp", timestamp),
        ("v", "2.0"),
    ];
    let query = busgate_signing::encode_query(&params);
    let req = busgate_signing::SpiRequest { raw_query: &query, headers: &[], content_type: Some(JSON), body };
    format!("{query}&sign={}", busgate_signing::spi_sign(&req, secret).expect("json is signable"))
}

pub const JSON: &str = "application/json;charset=utf-8";

/// `yyyy-MM-dd HH:mm:ss` GMT+8 of now.
pub fn now_timestamp() -> String {
    busgate_signing::format_timestamp(chrono::Utc::now())
}

/// POSTs a signed call to a bus route of a running local mode and returns (status, JSON).
pub async fn call_bus(base: &str, route: busgate_edge::Route, body: &serde_json::Value, secret: &str) -> (u16, serde_json::Value) {
    let body = serde_json::to_vec(body).expect("json");
    let method = route.default_method().expect("a bus route");
    let url = format!("{base}{}?{}", route.path(), signed_query(method, &body, secret, &now_timestamp()));
    post_raw(&url, JSON, body).await
}

/// POSTs raw bytes; returns status and the parsed JSON answer.
pub async fn post_raw(url: &str, content_type: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().post(url).header("content-type", content_type).body(body).send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// The URL of a signed call of `route` (its default method) at `timestamp`, for tests that
/// post the body themselves (tampered, stale, raw bytes).
pub fn bus_url(base: &str, route: busgate_edge::Route, body: &[u8], secret: &str, timestamp: &str) -> String {
    let method = route.default_method().expect("a bus route");
    format!("{base}{}?{}", route.path(), signed_query(method, body, secret, timestamp))
}

/// An HTTP answer as received: status, `Content-Type` header and body text.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl RawAnswer {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", self.text))
    }
}

/// POSTs raw bytes with a content type (none when `None`) and returns the answer as received.
pub async fn post_bytes(url: &str, content_type: Option<&str>, body: Vec<u8>) -> RawAnswer {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = r.text().await.expect("body");
    RawAnswer { status, content_type, text }
}

/// Today's date in GMT+8 (the demo catalogue's dates are relative to it).
pub fn today_gmt8() -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&busgate_domain::gmt8()).date_naive()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A path in the repository (relative to the workspace root).
pub fn repo_file(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The query of a Qimen call signed by `tests/tools/qimen_sign.py`, the independent signer
/// (Python standard library only, shares no code with Busgate): `params` in order, then
/// `&sign=…`. `content_type` is the request's (the signer refuses the types the official
/// verifier refuses).
pub fn python_signed_query(secret: &str, body: &[u8], params: &[(&str, &str)], content_type: &str) -> String {
    let dir = TempDir::new();
    let body_file = dir.0.join("body");
    std::fs::write(&body_file, body).expect("write body");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(repo_file("tests/tools/qimen_sign.py")).arg(format!("--secret={secret}")).arg("--body-file").arg(&body_file);
    cmd.arg(format!("--content-type={content_type}"));
    for (k, v) in params {
        cmd.arg("--param").arg(format!("{k}={v}"));
    }
    let out = cmd.output().expect("python3 runs the independent signer");
    assert!(out.status.success(), "qimen_sign.py: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("ASCII query").trim().to_string()
}

/// Headless Chromium for the console's tests (Debian's `chromium` and `chromium-driver`).
/// `BUSGATE_TEST_BROWSER=1` (set by `infra/test.sh`, which installs them) makes a missing
/// browser a failure; without it a test says it was skipped when no chromedriver is on PATH.
pub mod browser {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use fantoccini::{Client, ClientBuilder};
    use serde_json::json;

    /// A chromedriver process, stopped on drop.
    pub struct Driver {
        child: Child,
        pub url: String,
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn chromedriver() -> Option<Driver> {
        let required = std::env::var("BUSGATE_TEST_BROWSER").is_ok_and(|v| v == "1");
        let found = Command::new("chromedriver").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !found {
            assert!(!required, "BUSGATE_TEST_BROWSER=1 but no chromedriver on PATH (Debian: apt-get install chromium chromium-driver)");
            eprintln!("SKIPPED: no chromedriver on PATH (set BUSGATE_TEST_BROWSER=1 to make this a failure)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Driver { child, url })
    }

    pub async fn browser(driver: &Driver) -> Client {
        let binary =
            ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].into_iter().find(|p| std::path::Path::new(p).exists());
        let mut options =
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768", "--lang=zh-CN"]});
        if let Some(b) = binary {
            options["binary"] = json!(b);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a Chromium session")
    }
}
