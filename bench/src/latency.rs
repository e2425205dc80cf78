//! 1 and 4: handler latency per interface, in-process, and the store and queue calls each
//! request makes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use busgate_adapters::InProcessQueue;
use busgate_domain::catalogue;
use busgate_domain::queue::{Lane, Message, Queue, QueueError};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{CallCounter, Counting};
use busgate_domain::{gmt8, SystemClock};
use busgate_edge::{handle, App, BusRoute, Config, Inbound, Outbound, Route};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use crate::{Options, Stats};

pub const SECRET: &str = "busgate-bench-secret";
pub const FENBEITONG_TOKEN: &str = "bench-fenbeitong-token-0001";
const NOTICE: &str = include_str!("../../tests/fixtures/fenbeitong/flight_refund.json");

/// Counts queue sends (each one an SQS `SendMessage` in AWS).
pub struct CountingQueue {
    inner: InProcessQueue,
    pub sends: AtomicUsize,
}

#[async_trait]
impl Queue for CountingQueue {
    async fn send(&self, lane: Lane, body: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.inner.send(lane, body, delay_secs).await
    }
    async fn receive(&self, lane: Lane, max: usize, wait_secs: u32) -> Result<Vec<Message>, QueueError> {
        self.inner.receive(lane, max, wait_secs).await
    }
    async fn delete(&self, lane: Lane, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(lane, receipt).await
    }
    async fn retry_after(&self, lane: Lane, receipt: &str, secs: u32) -> Result<(), QueueError> {
        self.inner.retry_after(lane, receipt, secs).await
    }
}

/// The Lambda glue's conversion, request side (the same function the functions run).
pub fn to_inbound(req: Request) -> Inbound {
    busgate_edge::lambda::inbound(req)
}

/// The Lambda glue's conversion, response side.
pub fn to_response(out: Outbound) -> Response<Body> {
    busgate_edge::lambda::outbound(out)
}

/// The hello-world handler: the same conversion, a fixed answer.
async fn hello(req: Inbound) -> Outbound {
    std::hint::black_box(&req);
    Outbound::ok(br#"{"hello":"world"}"#.to_vec())
}

/// A signed request of `route` carrying `body`, as API Gateway hands it to lambda_http.
pub fn signed_request(path: &str, method: &str, body: &[u8], secret: &str) -> Request {
    let params = [
        ("app_key", "12345678".to_string()),
        ("format", "json".to_string()),
        ("method", method.to_string()),
        ("sign_method", "md5".to_string()),
        ("target_app_key", "87654321".to_string()),
        ("timestamp", busgate_signing::format_timestamp(chrono::Utc::now())),
        ("v", "2.0".to_string()),
    ];
    let query = busgate_signing::encode_query(&params);
    let ct = "application/json;charset=utf-8";
    let spi = busgate_signing::SpiRequest { raw_query: &query, headers: &[], content_type: Some(ct), body };
    let sign = busgate_signing::spi_sign(&spi, secret).expect("json is signable");
    http::Request::builder()
        .method("POST")
        .uri(format!("https://api.example.com{path}?{query}&sign={sign}"))
        .header("content-type", ct)
        .header("user-agent", "Fliggy-Qimen")
        .body(Body::Text(String::from_utf8_lossy(body).into_owned()))
        .expect("a request")
}

fn bus_request(route: Route, body: &Value) -> Request {
    signed_request(route.path(), route.default_method().expect("a bus route"), &serde_json::to_vec(body).expect("json"), SECRET)
}

/// A departure to sell in the benchmark: days ahead (refundable), point-to-point (no custom
/// address needed), with its adult fare.
#[derive(Debug, Clone)]
pub struct SaleDeparture {
    pub schedule_id: String,
    pub line_id: String,
    pub date: String,
    pub time: String,
    pub fare: i64,
}

/// Point-to-point departures of the demo catalogue at least two days ahead.
pub fn sale_departures(file: &catalogue::CatalogueFile) -> Vec<SaleDeparture> {
    let today = chrono::Utc::now().with_timezone(&gmt8()).date_naive();
    let mut out = Vec::new();
    for p in file.planned_departures().unwrap_or_default() {
        if p.stop.is_some() || p.date < today + chrono::Duration::days(2) {
            continue;
        }
        let line = &file.lines[p.line_index].line;
        let (Some(from), Some(to)) = (line.first_boarding(), line.last_alighting()) else { continue };
        if from.station_type != catalogue::StationType::Point || to.station_type != catalogue::StationType::Point {
            continue;
        }
        let Some(price) = line.segment_price(&from.station_code, &to.station_code) else { continue };
        out.push(SaleDeparture {
            schedule_id: p.schedule_id.clone(),
            line_id: line.id.clone(),
            date: p.date.format("%Y-%m-%d").to_string(),
            time: p.time.start().format("%H:%M").to_string(),
            fare: price.price,
        });
    }
    out
}

pub fn create_body(dep: &SaleDeparture, alitrip_order_id: &str) -> Value {
    json!({
        "alitripOrderId": alitrip_order_id, "scheduleId": dep.schedule_id, "lineId": dep.line_id,
        "fromDate": dep.date, "fromTime": dep.time, "ticketCount": 1, "orderAmount": dep.fare,
        "contactName": "张三", "contactMobile": "13800000000",
        "passengerList": [{"passengerName": "张三", "passengerCertificateType": "1", "passengerCertificateNo": "110101199001011234", "passengerType": "0"}],
    })
}

/// One interface's measurements.
#[derive(Default)]
struct Row {
    samples: Vec<f64>,
    ok: usize,
    /// The first refusal seen, for the table.
    refusal: Option<String>,
    /// Store calls per request: total, and per kind of the last request.
    store_calls: Vec<usize>,
    kinds: [usize; 4],
    sends: Vec<usize>,
    /// Size of the last answer body.
    answer_bytes: usize,
}

struct Harness {
    app: App,
    calls: Arc<CallCounter>,
    queue: Arc<CountingQueue>,
    rows: BTreeMap<Route, Row>,
    hello: Vec<f64>,
}

fn kinds(c: &CallCounter) -> [usize; 4] {
    [c.gets.load(Ordering::SeqCst), c.queries.load(Ordering::SeqCst), c.index_queries.load(Ordering::SeqCst), c.transactions.load(Ordering::SeqCst)]
}

/// Whether an answer is a success, and its code otherwise.
fn verdict(route: Route, out: &Outbound) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(&out.body).map_err(|e| format!("non-JSON: {e}"))?;
    let ok = match route {
        Route::FenbeitongNotify => v["code"] == 0,
        Route::Relation => v["success"] == true,
        _ => v["success"] == true,
    };
    if ok {
        Ok(v)
    } else {
        let code = match route {
            Route::FenbeitongNotify => format!("{} {}", v["code"], v["msg"].as_str().unwrap_or_default()),
            Route::Relation => v["error_info"].as_str().unwrap_or_default().to_string(),
            _ => format!("{} {}", v["retCode"].as_str().unwrap_or_default(), v["retDesc"].as_str().unwrap_or_default()),
        };
        Err(code.chars().take(80).collect())
    }
}

impl Harness {
    /// Times one call of `route` (conversion + handler + conversion); returns the answer.
    async fn timed(&mut self, route: Route, req: Request) -> Result<Value, String> {
        self.calls.reset();
        let sends_before = self.queue.sends.load(Ordering::SeqCst);
        let started = Instant::now();
        let out = handle(&self.app, route, to_inbound(req)).await;
        let response = to_response(out.clone());
        let us = started.elapsed().as_secs_f64() * 1e6;
        std::hint::black_box(response);
        let row = self.rows.entry(route).or_default();
        row.samples.push(us);
        row.store_calls.push(self.calls.total());
        row.kinds = kinds(&self.calls);
        row.sends.push(self.queue.sends.load(Ordering::SeqCst) - sends_before);
        row.answer_bytes = out.body.len();
        let v = verdict(route, &out);
        match &v {
            Ok(_) => row.ok += 1,
            Err(code) => {
                row.refusal.get_or_insert_with(|| code.clone());
            }
        }
        v
    }

    async fn untimed(&self, route: Route, req: Request) -> Result<Value, String> {
        let out = handle(&self.app, route, to_inbound(req)).await;
        verdict(route, &out)
    }

    async fn hello_once(&mut self, req: Request) {
        let started = Instant::now();
        let response = to_response(hello(to_inbound(req)).await);
        let us = started.elapsed().as_secs_f64() * 1e6;
        std::hint::black_box(response);
        self.hello.push(us);
    }
}

/// Returns the hello-world handler's figures and one object per interface.
pub async fn run(opts: &Options) -> (Value, Value) {
    let env = |k: &str| -> Option<String> {
        Some(match k {
            "BUSGATE_QIMEN_SECRET" => SECRET.into(),
            "BUSGATE_FENBEITONG_TOKENS" => format!("demo={FENBEITONG_TOKEN}"),
            "BUSGATE_TOP_URL" => "http://127.0.0.1:9/router/rest".into(),
            "BUSGATE_TOP_APP_KEY" => "12345678".into(),
            "BUSGATE_TOP_SECRET" => "bench-top-secret".into(),
            _ => return None,
        })
    };
    let config = Config::from_lookup(&env).expect("bench configuration");
    let store = Arc::new(Counting::new(MemoryStore::new()));
    let calls = store.calls.clone();
    let queue = Arc::new(CountingQueue { inner: InProcessQueue::new(std::time::Duration::from_secs(30), 10), sends: AtomicUsize::new(0) });
    let app = App::new(config, store, queue.clone(), Arc::new(SystemClock));
    busgate_cli::demo::load_if_empty(&app).await.expect("the demo catalogue loads");
    let today = chrono::Utc::now().with_timezone(&gmt8()).date_naive();
    let file = catalogue::demo_catalogue(today);
    let deps = sale_departures(&file);
    assert!(!deps.is_empty(), "the demo catalogue has a point-to-point departure two days ahead");
    let from_city = file.cities.first().map(|c| c.name.clone()).unwrap_or_default();
    let mut h = Harness { app, calls, queue, rows: BTreeMap::new(), hello: Vec::new() };

    // Warm-up (allocator, lazy statics), not recorded.
    for _ in 0..50 {
        let _ = h.untimed(Route::Bus(BusRoute::FromCities), bus_request(Route::Bus(BusRoute::FromCities), &json!({}))).await;
        h.hello_once(bus_request(Route::Bus(BusRoute::FromCities), &json!({}))).await;
    }
    h.hello.clear();

    // Requests are built (and signed) outside the timed section.
    let catalogue_requests: Vec<(Route, Value)> = vec![
        (Route::Bus(BusRoute::FromCities), json!({"fromCity": from_city})),
        (Route::Bus(BusRoute::ToCities), json!({"fromCity": from_city})),
        (Route::Bus(BusRoute::Lines), json!({"fromCity": from_city, "fromDate": deps[0].date})),
        (
            Route::Bus(BusRoute::Seats),
            json!({"scheduleId": deps[0].schedule_id, "lineId": deps[0].line_id, "fromDate": deps[0].date, "fromTime": deps[0].time}),
        ),
        (Route::Bus(BusRoute::StoppedSchedules), json!({})),
    ];
    for (route, body) in &catalogue_requests {
        for _ in 0..opts.iterations {
            let req = bus_request(*route, body);
            let _ = h.timed(*route, req).await;
        }
    }
    for _ in 0..opts.hello_iterations {
        let req = bus_request(Route::Bus(BusRoute::Seats), &catalogue_requests[3].1);
        h.hello_once(req).await;
    }

    // Order interfaces: chains that give their seats back (create → query → confirm → fee →
    // refund; create → close), so the departures never sell out. Plus the partner routes.
    let notice: Value = serde_json::from_str(NOTICE).expect("the notice fixture is JSON");
    let chains = (opts.iterations / 2).max(10);
    let run_id = chrono::Utc::now().timestamp_millis() % 1_000_000;
    for i in 0..chains {
        let dep = &deps[i % deps.len()];
        let id = format!("8{run_id:06}{i:05}");
        let Ok(created) = h.timed(Route::Bus(BusRoute::OrdersCreate), bus_request(Route::Bus(BusRoute::OrdersCreate), &create_body(dep, &id))).await
        else {
            continue;
        };
        let agent = created["agentOrderId"].as_str().unwrap_or_default().to_string();
        let key = json!({"alitripOrderId": id, "agentOrderId": agent});
        let _ = h.timed(Route::Bus(BusRoute::OrdersQuery), bus_request(Route::Bus(BusRoute::OrdersQuery), &key)).await;
        if h.timed(Route::Bus(BusRoute::OrdersConfirm), bus_request(Route::Bus(BusRoute::OrdersConfirm), &key)).await.is_ok() {
            if let Ok(fee) = h.timed(Route::Bus(BusRoute::RefundsFee), bus_request(Route::Bus(BusRoute::RefundsFee), &key)).await {
                let list: Vec<Value> = fee["passengerList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| json!({"ticketId": p["ticketId"], "refundSurcharge": p["refundSurcharge"]}))
                    .collect();
                let apply = json!({"alitripOrderId": id, "agentOrderId": agent, "passengerList": list, "refundReason": "行程变更"});
                let _ = h.timed(Route::Bus(BusRoute::RefundsApply), bus_request(Route::Bus(BusRoute::RefundsApply), &apply)).await;
            }
        }
        // A collaboration work order about this order (each one a new case).
        let case = json!({"case_id": format!("7{run_id:06}{i:05}"), "relation_type": "startRelation", "operator": "小二A", "order_id": id, "category_id": "3333", "attributes": "{\"content\":\"请核实退款\"}"});
        let _ = h
            .timed(
                Route::Relation,
                signed_request(Route::Relation.path(), "alitrip.serve.workorder.relation", &serde_json::to_vec(&case).expect("json"), SECRET),
            )
            .await;
        // A second order, closed unpaid.
        let id2 = format!("6{run_id:06}{i:05}");
        if let Ok(c2) = h.untimed(Route::Bus(BusRoute::OrdersCreate), bus_request(Route::Bus(BusRoute::OrdersCreate), &create_body(dep, &id2))).await
        {
            let key2 = json!({"alitripOrderId": id2, "agentOrderId": c2["agentOrderId"]});
            let _ = h.timed(Route::Bus(BusRoute::OrdersClose), bus_request(Route::Bus(BusRoute::OrdersClose), &key2)).await;
        }
        // A Fenbeitong notice (a new apply id each time).
        let mut n = notice.clone();
        n["apply"]["id"] = json!(format!("BENCH{run_id:06}{i:05}"));
        let body = serde_json::to_vec(&n).expect("json");
        let req = http::Request::builder()
            .method("POST")
            .uri(format!("https://api.example.com/fenbeitong/notify/{FENBEITONG_TOKEN}"))
            .header("content-type", "application/json")
            .body(Body::Binary(body))
            .expect("a request");
        let _ = h.timed(Route::FenbeitongNotify, req).await;
    }

    let hello = Stats::of(&mut h.hello);
    md!("## 1. Handler latency per interface (in-process) and 4. store/queue calls per request\n");
    md!(
        "Each call: lambda_http Request → Inbound → `busgate_edge::handle` → Outbound → Response, on an in-memory store \
         with the demo catalogue, requests signed beforehand. Baseline: a hello-world handler with the same conversion, \
         median {:.2} µs (p99 {:.2} µs, {} calls). Store calls are DynamoDB calls in AWS (get = GetItem, query = Query, \
         index = Query on the GSI, tx = TransactWriteItems); queue sends are SQS SendMessage.\n",
        hello.median,
        hello.p99,
        hello.n
    );
    md!("| interface | calls | ok | median µs | p90 µs | p99 µs | median × hello | answer bytes | store calls/request (median, max) | last request: get/query/index/tx | queue sends/request (max) | first refusal |");
    md!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
    let mut handlers = Vec::new();
    for route in Route::ALL {
        let Some(row) = h.rows.get_mut(&route) else {
            md!("| {} | 0 | | | | | | | | | | not measured |", route.function());
            continue;
        };
        let s = Stats::of(&mut row.samples);
        let mut calls: Vec<f64> = row.store_calls.iter().map(|c| *c as f64).collect();
        let c = Stats::of(&mut calls);
        let max_calls = row.store_calls.iter().max().copied().unwrap_or(0);
        let k = row.kinds;
        let sends = row.sends.iter().max().copied().unwrap_or(0);
        md!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1}× | {} | {}, {} | {}/{}/{}/{} | {} | {} |",
            route.function(),
            s.n,
            row.ok,
            s.median,
            s.p90,
            s.p99,
            s.median / hello.median,
            row.answer_bytes,
            c.median,
            max_calls,
            k[0],
            k[1],
            k[2],
            k[3],
            sends,
            row.refusal.as_deref().unwrap_or("")
        );
        handlers.push(json!({
            "interface": route.function(),
            "calls": s.n,
            "ok": row.ok,
            "median_us": s.median,
            "p90_us": s.p90,
            "p99_us": s.p99,
            "median_x_hello": s.median / hello.median,
            "answer_bytes": row.answer_bytes,
            "store_calls_median": c.median,
            "store_calls_max": max_calls,
            "last_request_calls": {"get": k[0], "query": k[1], "index": k[2], "tx": k[3]},
            "queue_sends_max": sends,
            "first_refusal": row.refusal,
        }));
    }
    md!();
    (json!({"median_us": hello.median, "p99_us": hello.p99, "calls": hello.n}), Value::Array(handlers))
}
