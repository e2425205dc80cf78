//! 2: local mode requests/s over loopback against a bare hyper hello-world server, both in
//! this process, each driven for a bounded time by a bounded number of connections.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use busgate_domain::catalogue::{self, ImportOptions};
use busgate_domain::gmt8;
use busgate_edge::{BusRoute, Route};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;

use crate::latency::{create_body, sale_departures};
use crate::Options;

/// A bare hyper HTTP/1 server answering `{"hello":"world"}` to everything.
async fn hello_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json;charset=utf-8")
                            .body(Full::new(Bytes::from_static(br#"{"hello":"world"}"#)))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    addr
}

/// What one throughput run measured.
struct Run {
    requests: usize,
    ok: usize,
    secs: f64,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Drives `concurrency` connections for `duration`; `request(n)` gives the n-th request's URL
/// and body; an answer is ok when it is HTTP 200 and `ok(text)` holds.
async fn drive(duration: Duration, concurrency: usize, request: Arc<dyn Fn(usize) -> (String, Vec<u8>) + Send + Sync>, ok: fn(&str) -> bool) -> Run {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("http client");
    let counter = Arc::new(AtomicUsize::new(0));
    let oks = Arc::new(AtomicUsize::new(0));
    // Warm the connections up.
    for _ in 0..concurrency.min(8) {
        let (url, body) = request(usize::MAX);
        let _ = http.post(url).header("content-type", "application/json;charset=utf-8").body(body).send().await;
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, counter, oks, request) = (http.clone(), counter.clone(), oks.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (url, body) = request(n);
                let Ok(r) = http.post(url).header("content-type", "application/json;charset=utf-8").body(body).send().await else {
                    continue;
                };
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                if status == 200 && ok(&text) {
                    oks.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = started.elapsed().as_secs_f64();
    Run { requests: counter.load(Ordering::Relaxed), ok: oks.load(Ordering::Relaxed), secs }
}

fn signed_url(base: &str, route: Route, body: &[u8], secret: &str) -> String {
    let timestamp = busgate_signing::format_timestamp(chrono::Utc::now());
    format!("{base}{}?{}", route.path(), busgate_signing::qimen_query(route.default_method().unwrap_or_default(), body, secret, &timestamp))
}

/// Returns requests/s per row with its ratio to the hyper hello-world server.
pub async fn run(opts: &Options) -> serde_json::Value {
    let data = std::env::temp_dir().join(format!("busgate-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let local_opts = busgate_cli::local::LocalOptions {
        addr: "127.0.0.1:0".parse().expect("address"),
        data: data.clone(),
        demo: false,
        sweep_every: Duration::from_secs(3600),
    };
    let running = busgate_cli::local::start(local_opts, &|_| None).await.expect("local mode starts");
    // The demo catalogue with 10 000 seats per departure, so create never sells out here.
    let today = chrono::Utc::now().with_timezone(&gmt8()).date_naive();
    let mut file = catalogue::demo_catalogue(today);
    for l in &mut file.lines {
        l.seats = 10_000;
        for t in &mut l.timetable {
            t.seats = None;
        }
        for d in &mut l.departures {
            d.seats = None;
        }
    }
    catalogue::apply_import(running.app.store.as_ref(), &file, chrono::Utc::now(), &ImportOptions::default(), &|_, _| {})
        .await
        .expect("the catalogue imports");
    let deps = Arc::new(sale_departures(&file));
    let base = running.base_url();
    let secret = busgate_cli::local::DEMO_QIMEN_SECRET;
    let hello = hello_server().await;

    let success = |t: &str| t.contains("\"success\":true");
    let hello_url = format!("http://{hello}/fliggy/bus/seats");
    let hello_run =
        drive(opts.duration, opts.concurrency, Arc::new(move |_| (hello_url.clone(), br#"{"scheduleId":"x"}"#.to_vec())), |t| t.contains("hello"))
            .await;

    let d = &deps[0];
    let seats_body =
        serde_json::to_vec(&json!({"scheduleId": d.schedule_id, "lineId": d.line_id, "fromDate": d.date, "fromTime": d.time})).expect("json");
    let seats_url = signed_url(&base, Route::Bus(BusRoute::Seats), &seats_body, secret);
    let seats_run = drive(opts.duration, opts.concurrency, Arc::new(move |_| (seats_url.clone(), seats_body.clone())), success).await;

    let run_id = chrono::Utc::now().timestamp_millis() % 1_000_000;
    let (b, ds) = (base.clone(), deps.clone());
    let create_run = drive(
        opts.duration,
        opts.concurrency,
        Arc::new(move |n| {
            let n = if n == usize::MAX { 99_999_999 } else { n };
            let dep = &ds[n % ds.len()];
            let body = serde_json::to_vec(&create_body(dep, &format!("5{run_id:06}{n:08}"))).expect("json");
            (signed_url(&b, Route::Bus(BusRoute::OrdersCreate), &body, secret), body)
        }),
        success,
    )
    .await;
    running.stop();
    let _ = std::fs::remove_dir_all(&data);

    md!("## 2. Local mode requests/s over loopback\n");
    md!(
        "`busgate local` (axum, embedded redb store, demo catalogue with 10 000 seats per departure) and a bare hyper \
         HTTP/1 hello-world server, both in this process; the client (reqwest, same process and runtime, 2 worker \
         threads) keeps {} connections busy for {:.1} s per row. Create orders: a new signed order per request \
         (1 seat), round-robin over {} departures.\n",
        opts.concurrency,
        opts.duration.as_secs_f64(),
        deps.len()
    );
    md!("| server / request | requests | successful | requests/s | × hyper hello |");
    md!("|---|---:|---:|---:|---:|");
    let mut rows = serde_json::Map::new();
    for (key, name, r) in [
        ("hyper_hello", "hyper hello-world", &hello_run),
        ("seat_query", "local mode: seat query", &seats_run),
        ("create_order", "local mode: create order", &create_run),
    ] {
        md!("| {name} | {} | {} | {:.0} | {:.3}× |", r.requests, r.ok, r.rps(), r.rps() / hello_run.rps());
        rows.insert(
            key.into(),
            json!({"requests": r.requests, "ok": r.ok, "secs": r.secs, "requests_per_s": r.rps(), "x_hyper": r.rps() / hello_run.rps()}),
        );
    }
    md!();
    rows.insert("concurrency".into(), json!(opts.concurrency));
    serde_json::Value::Object(rows)
}
