//! The Lambda glue fed real API Gateway HTTP API (payload format 2.0) events, parsed by
//! lambda_http itself (`lambda_http::request::from_str`, what the runtime does with each
//! invocation): the raw query string reaches the Qimen signature check byte for byte (`%2B`
//! is not a space, `a=b=c` keeps its second `=`, empty values stay empty), base64 bodies are
//! decoded, and what API Gateway decoded for convenience (`queryStringParameters`) is never
//! what is verified.

use std::sync::Arc;

use busgate_adapters::InProcessQueue;
use busgate_domain::catalogue::{apply_import, demo_catalogue, ImportOptions};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::{gmt8, ManualClock};
use busgate_edge::inbound::pipeline;
use busgate_edge::{lambda, App, BusRoute, Config, Route};
use busgate_signing::{format_timestamp, spi_sign, SpiRequest};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

const SECRET: &str = "lambda-events-secret";
const JSON_TYPE: &str = "application/json;charset=utf-8";

fn now() -> DateTime<Utc> {
    gmt8().with_ymd_and_hms(2022, 11, 1, 10, 0, 0).single().unwrap().with_timezone(&Utc)
}

async fn app() -> App {
    let config = Config::from_lookup(&|k| (k == "BUSGATE_QIMEN_SECRET").then(|| SECRET.to_string())).unwrap();
    let store = Arc::new(MemoryStore::new());
    let today = now().with_timezone(&gmt8()).date_naive();
    apply_import(store.as_ref(), &demo_catalogue(today), now(), &ImportOptions::default(), &|_, _| {}).await.unwrap();
    App::new(config, store, Arc::new(InProcessQueue::new(std::time::Duration::from_secs(30), 10)), Arc::new(ManualClock::new(now())))
}

/// `raw` (a query as a client encoded it, without `sign`) signed over `body`.
fn signed(raw: &str, body: &[u8]) -> String {
    let sign = spi_sign(&SpiRequest { raw_query: raw, headers: &[], content_type: Some(JSON_TYPE), body }, SECRET).unwrap();
    format!("{raw}&sign={sign}")
}

/// The query of a from-cities call with extra parameters, as a client might encode it.
fn query(extra: &str) -> String {
    let ts = format_timestamp(now()).replace(' ', "+").replace(':', "%3A");
    let method = Route::Bus(BusRoute::FromCities).default_method().unwrap();
    format!("app_key=12345678&format=json&method={method}&sign_method=md5&target_app_key=87654321&timestamp={ts}&v=2.0{extra}")
}

/// An HTTP API payload-v2 event as API Gateway sends it to the function.
fn event(path: &str, raw_query: &str, body: &[u8], base64: bool) -> String {
    // What API Gateway decodes for convenience: lossy (`+` and `%2B` both become "+" or " ").
    let mut decoded = serde_json::Map::new();
    for pair in raw_query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        decoded.insert(k.to_string(), json!(v.replace('+', " ").replace("%2B", "+").replace("%3A", ":")));
    }
    let body = if base64 { data_encoding::BASE64.encode(body) } else { String::from_utf8(body.to_vec()).unwrap() };
    json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"content-type": JSON_TYPE, "host": "abc123.execute-api.cn-north-1.amazonaws.com.cn", "user-agent": "Qimen"},
        "queryStringParameters": decoded,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.cn-north-1.amazonaws.com.cn",
            "domainPrefix": "abc123", "requestId": "req-1", "routeKey": format!("POST {path}"), "stage": "$default",
            "time": "01/Nov/2022:02:00:00 +0000", "timeEpoch": 1667268000000i64,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "Qimen"}
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

async fn answer(app: &App, event: &str) -> (lambda_http::Request, Value) {
    let req = lambda_http::request::from_str(event).expect("lambda_http parses the event");
    let again = lambda_http::request::from_str(event).unwrap();
    let out = pipeline::handle_path(app, lambda::inbound(req)).await;
    (again, serde_json::from_slice(&out.body).unwrap())
}

#[tokio::test]
async fn the_raw_query_reaches_the_signature_check_byte_for_byte() {
    let app = app().await;
    let body = br#"{"fromCity":""}"#;
    let path = Route::Bus(BusRoute::FromCities).path();
    // `%2B` (a plus), `a=b=c` (an equals sign in a value), empty and bare parameters.
    let raw = signed(&query("&memo=a%2Bb&eq=b=c&empty=&bare"), body);
    let (req, v) = answer(&app, &event(path, &raw, body, false)).await;
    let inbound = lambda::inbound(req);
    assert_eq!(inbound.raw_query, raw, "the query the function verifies is the one the client sent");
    assert_eq!(inbound.path, path);
    assert_eq!(inbound.source_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(inbound.request_id, "", "the runtime's context is not part of the event");
    assert_eq!(v["retCode"], "0", "{v}");

    // The same request with `%2B` sent as `+` (a space) is another request: refused.
    let tampered = raw.replace("memo=a%2Bb", "memo=a+b");
    let (_, v) = answer(&app, &event(path, &tampered, body, false)).await;
    assert_eq!(v["retCode"], "sign-check-failure", "{v}");
    // And `a=b=c` read as `a=b`: refused too.
    let (_, v) = answer(&app, &event(path, &raw.replace("eq=b=c", "eq=b"), body, false)).await;
    assert_eq!(v["retCode"], "sign-check-failure", "{v}");
}

#[tokio::test]
async fn a_base64_body_is_verified_and_parsed_as_its_bytes() {
    let app = app().await;
    let body = "{\"fromCity\":\"上海\"}".as_bytes();
    let raw = signed(&query(""), body);
    let (req, v) = answer(&app, &event(Route::Bus(BusRoute::FromCities).path(), &raw, body, true)).await;
    assert_eq!(lambda::inbound(req).body.as_ref(), body, "decoded from base64");
    assert_eq!(v["retCode"], "0", "{v}");
    assert!(v.to_string().contains("上海"), "{v}");
    // One byte changed after signing: refused before any parsing.
    let mut other = body.to_vec();
    other[3] = b'F';
    let (_, v) = answer(&app, &event(Route::Bus(BusRoute::FromCities).path(), &raw, &other, true)).await;
    assert_eq!(v["retCode"], "sign-check-failure", "{v}");
}
