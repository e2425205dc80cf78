//! 2: local mode requests/s over loopback against a bare hyper hello-world server, both in
//! this process, each driven for a bounded time by a bounded number of connections. The rows
//! are measured in interleaved rounds (the baseline first, then every other row; again): each
//! round's ratio is against the baseline measured seconds before it, and the reported ratio
//! is the median round's, so a machine that slows down or speeds up mid-run moves both sides.

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
    /// CPU time of the whole process (server, client and their logging) during the run.
    cpu_secs: f64,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

async fn send(http: &reqwest::Client, url: reqwest::Url, body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
    if body.is_empty() {
        return http.get(url).send().await;
    }
    http.post(url).header("content-type", "application/json;charset=utf-8").body(body).send().await
}

/// CPU time this process has used (user + system), from `/proc/self/stat` in clock ticks
/// (100 per second on Linux); `NaN` where there is no procfs.
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // Fields after the command name (which may hold spaces), from the third: utime is the 14th.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

/// The n-th request of a row: its URL and body.
type Requests = Arc<dyn Fn(usize) -> (reqwest::Url, Vec<u8>) + Send + Sync>;

/// Drives `concurrency` connections for `duration`; `request(n)` gives the n-th request's URL
/// and body (a POST of JSON; no body: a GET); an answer is ok when it is HTTP 200 and
/// `ok(text)` holds.
async fn drive(duration: Duration, concurrency: usize, request: Requests, ok: fn(&str) -> bool) -> Run {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("http client");
    let counter = Arc::new(AtomicUsize::new(0));
    let oks = Arc::new(AtomicUsize::new(0));
    // Warm the connections up.
    for _ in 0..concurrency.min(8) {
        let (url, body) = request(usize::MAX);
        let _ = send(&http, url, body).await;
    }
    let started = Instant::now();
    let cpu_at_start = process_cpu_secs();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, counter, oks, request) = (http.clone(), counter.clone(), oks.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (url, body) = request(n);
                let Ok(r) = send(&http, url, body).await else {
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
    Run { requests: counter.load(Ordering::Relaxed), ok: oks.load(Ordering::Relaxed), secs, cpu_secs: process_cpu_secs() - cpu_at_start }
}

/// A signed request's URL, parsed once here as a load generator prepares its requests (the
/// seat query's is the same every time), not by the client on every send.
fn signed_url(base: &str, route: Route, body: &[u8], secret: &str) -> reqwest::Url {
    let timestamp = busgate_signing::format_timestamp(chrono::Utc::now());
    let url =
        format!("{base}{}?{}", route.path(), busgate_signing::qimen_query(route.default_method().unwrap_or_default(), body, secret, &timestamp));
    reqwest::Url::parse(&url).expect("a signed URL parses")
}

/// The rows of each round, in the order measured: the JSON key and the row's name.
const ROWS: [(&str, &str); 5] = [
    ("hyper_hello", "hyper hello-world"),
    ("axum_route", "local mode: an axum route doing nothing"),
    ("refused_unsigned", "local mode: seat query route, unsigned (refused)"),
    ("seat_query", "local mode: seat query"),
    ("create_order", "local mode: create order"),
];

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
    let hello_url = reqwest::Url::parse(&format!("http://{hello}/fliggy/bus/seats")).expect("URL");
    let hello_requests: Requests = Arc::new(move |_| (hello_url.clone(), br#"{"scheduleId":"x"}"#.to_vec()));

    let d = &deps[0];
    let seats_body =
        serde_json::to_vec(&json!({"scheduleId": d.schedule_id, "lineId": d.line_id, "fromDate": d.date, "fromTime": d.time})).expect("json");
    let seats_url = signed_url(&base, Route::Bus(BusRoute::Seats), &seats_body, secret);
    // The same body unsigned: the seat route refuses it (a row that splits the seat query's cost).
    let unsigned = reqwest::Url::parse(&format!("{base}{}", Route::Bus(BusRoute::Seats).path())).expect("URL");
    let unsigned_body = seats_body.clone();
    let unsigned_requests: Requests = Arc::new(move |_| (unsigned.clone(), unsigned_body.clone()));
    let seats_requests: Requests = Arc::new(move |_| (seats_url.clone(), seats_body.clone()));

    let run_id = chrono::Utc::now().timestamp_millis() % 1_000_000;
    let sequence = Arc::new(AtomicUsize::new(0));
    let (b, ds) = (base.clone(), deps.clone());
    // A new order every request, across rounds (the row's own counter restarts each round).
    let create_requests: Requests = Arc::new(move |_| {
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let dep = &ds[n % ds.len()];
        let body = serde_json::to_vec(&create_body(dep, &format!("5{run_id:06}{n:08}"))).expect("json");
        (signed_url(&b, Route::Bus(BusRoute::OrdersCreate), &body, secret), body)
    });

    // An axum route of local mode that does nothing: the framework's share of the seat query.
    let health = reqwest::Url::parse(&format!("{base}/_local/health")).expect("URL");
    let health_requests: Requests = Arc::new(move |_| (health.clone(), Vec::new()));

    let hello_ok = |t: &str| t.contains("hello");
    let refused = |t: &str| t.contains("sign-check-failure");
    let mut rounds: Vec<[Run; ROWS.len()]> = Vec::new();
    for _ in 0..opts.rounds {
        let hello_run = drive(opts.duration, opts.concurrency, hello_requests.clone(), hello_ok).await;
        let health_run = drive(opts.duration, opts.concurrency, health_requests.clone(), |t| t == "ok").await;
        let unsigned_run = drive(opts.duration, opts.concurrency, unsigned_requests.clone(), refused).await;
        let seats_run = drive(opts.duration, opts.concurrency, seats_requests.clone(), success).await;
        let create_run = drive(opts.duration, opts.concurrency, create_requests.clone(), success).await;
        rounds.push([hello_run, health_run, unsigned_run, seats_run, create_run]);
    }
    running.stop();
    let _ = std::fs::remove_dir_all(&data);

    md!("## 2. Local mode requests/s over loopback\n");
    md!(
        "`busgate local` (axum, embedded redb store, demo catalogue with 10 000 seats per departure) and a bare hyper \
         HTTP/1 hello-world server, both in this process; the client (reqwest, same process and runtime, 2 worker \
         threads) keeps {} connections busy for {:.1} s per row, in {} interleaved rounds (every row once, in the \
         order below; again). Each ratio is the median of the rounds' ratios, each round against its own hello run. Create \
         orders: a new signed order per request (1 seat), round-robin over {} departures.\n",
        opts.concurrency,
        opts.duration.as_secs_f64(),
        rounds.len(),
        deps.len()
    );
    md!("CPU µs per request: the whole process's CPU time during the row (server, client and logging alike) over its \
         requests. The two middle rows split the seat query: local mode's `/_local/health` (an axum route doing nothing) \
         and the seat query's route refusing an unsigned request (the pipeline up to the signature check, the refusal \
         logged and rendered).\n");
    md!(
        "| server / request | requests | successful | requests/s (all rounds) | × hyper hello (median round) | rounds' ratios | CPU µs per request |"
    );
    md!("|---|---:|---:|---:|---:|---|---:|");
    let mut rows = serde_json::Map::new();
    for (i, (key, name)) in ROWS.into_iter().enumerate() {
        let (requests, ok) = rounds.iter().fold((0, 0), |(r, o), round| (r + round[i].requests, o + round[i].ok));
        let secs: f64 = rounds.iter().map(|round| round[i].secs).sum();
        let cpu_us = 1e6 * rounds.iter().map(|round| round[i].cpu_secs).sum::<f64>() / requests.max(1) as f64;
        let ratios: Vec<f64> = rounds.iter().map(|round| round[i].rps() / round[0].rps()).collect();
        let x_hyper = crate::Stats::of(&mut ratios.clone()).median;
        let shown = ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(", ");
        md!("| {name} | {requests} | {ok} | {:.0} | {x_hyper:.3}× | {shown} | {cpu_us:.1} |", requests as f64 / secs);
        rows.insert(
            key.into(),
            json!({"requests": requests, "ok": ok, "secs": secs, "requests_per_s": requests as f64 / secs, "x_hyper": x_hyper,
                   "x_hyper_rounds": ratios, "cpu_us_per_request": cpu_us}),
        );
    }
    md!();
    rows.insert("concurrency".into(), json!(opts.concurrency));
    rows.insert("rounds".into(), json!(rounds.len()));
    serde_json::Value::Object(rows)
}
