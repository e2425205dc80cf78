//! End to end through a real HTTP server: local mode (every route, embedded store, demo data)
//! answering requests signed by an independent signer (Python, stdlib only), and refusing
//! tampered, stale, malformed and oversize ones in the partner's own envelope.

use std::process::Command;

use busgate_cli::local::DEMO_QIMEN_SECRET;
use busgate_edge::{BusRoute, Route};
use busgate_tests::{call_bus, now_timestamp, post_raw, signed_query, start_local, JSON};
use serde_json::{json, Value};

const SIGN_FAILURE: &str = r#"{"retDesc":"Illegal request","success":"false","retCode":"sign-check-failure"}"#;

fn repo_file(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Signs with `tests/tools/qimen_sign.py`, which shares no code with Busgate.
fn python_signed_query(body: &[u8], method: &str, timestamp: &str) -> String {
    let dir = busgate_tests::TempDir::new();
    let body_file = dir.0.join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let out = Command::new("python3")
        .arg(repo_file("tests/tools/qimen_sign.py"))
        .args(["--secret", DEMO_QIMEN_SECRET, "--body-file"])
        .arg(&body_file)
        .args(["--param", "app_key=12345678", "--param", &format!("method={method}"), "--param", "sign_method=md5"])
        .args(["--param", &format!("timestamp={timestamp}"), "--param", "v=2.0", "--param", "format=json"])
        .output()
        .expect("python3 runs the independent signer");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn raw_post(url: &str, body: Vec<u8>) -> String {
    reqwest::Client::new().post(url).header("content-type", JSON).body(body).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independently_signed_request_gets_departure_cities_and_a_changed_byte_fails() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let body = r#"{"fromCity":"上海"}"#.as_bytes().to_vec();
    let method = Route::Bus(BusRoute::FromCities).default_method().unwrap();
    let query = python_signed_query(&body, method, &now_timestamp());
    let url = format!("{base}{}?{query}", Route::Bus(BusRoute::FromCities).path());

    let answer: Value = serde_json::from_str(&raw_post(&url, body.clone()).await).unwrap();
    assert_eq!(answer["retCode"], "0");
    assert_eq!(answer["success"], true);
    assert_eq!(answer["fromCityList"], json!([{"provinceName": "上海市", "fromCity": "上海市", "cityCode": "310100"}]));

    // One byte of the body changed (上海 → 上游: same length, still valid JSON): exact refusal.
    let mut tampered = body.clone();
    let i = tampered.len() - 3;
    tampered[i] ^= 0x01;
    assert_eq!(raw_post(&url, tampered).await, SIGN_FAILURE);
    // One byte of the query changed.
    let tampered_url = url.replacen("app_key=12345678", "app_key=12345679", 1);
    assert_eq!(raw_post(&tampered_url, body.clone()).await, SIGN_FAILURE);
    // The sign lower-cased.
    let (head, sign) = url.rsplit_once("sign=").unwrap();
    assert_eq!(raw_post(&format!("{head}sign={}", sign.to_lowercase()), body.clone()).await, SIGN_FAILURE);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_the_bus_envelope_and_name_the_problem() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let route = Route::Bus(BusRoute::ToCities);
    let method = route.default_method().unwrap();
    let url_for = |body: &[u8], ts: &str| format!("{base}{}?{}", route.path(), signed_query(method, body, DEMO_QIMEN_SECRET, ts));

    // Stale timestamp (the window is 300 s): timestamp-expired, not a signature failure.
    let body = r#"{"fromCity":"上海市"}"#.as_bytes().to_vec();
    let stale = busgate_signing::format_timestamp(chrono::Utc::now() - chrono::Duration::seconds(301));
    let (status, v) = post_raw(&url_for(&body, &stale), JSON, body.clone()).await;
    assert_eq!((status, v["retCode"].as_str(), v["success"].as_bool()), (200, Some("timestamp-expired"), Some(false)));

    // Malformed JSON, a non-object, a duplicate key, a missing required field.
    for (bad, expected) in [
        (&b"{\"fromCity\":"[..], "body: malformed JSON"),
        (&b"[1,2]"[..], "body: must be a JSON object"),
        (&br#"{"fromCity":"a","fromCity":"b"}"#[..], "duplicate key"),
        (&br#"{"fromCity":"  "}"#[..], "fromCity: required"),
        (&br#"{"fromCity":7}"#[..], "fromCity: must be a string"),
    ] {
        let (status, v) = post_raw(&url_for(bad, &now_timestamp()), JSON, bad.to_vec()).await;
        assert_eq!(status, 200);
        assert_eq!(v["retCode"], "invalid-parameter", "{v}");
        assert_eq!(v["success"], false);
        assert!(v["retDesc"].as_str().unwrap().contains(expected), "{v} should say {expected}");
    }

    // Over the body limit (262144 bytes): body-too-large, before anything else.
    let big = format!(r#"{{"fromCity":"{}"}}"#, "a".repeat(270_000)).into_bytes();
    let (_, v) = post_raw(&url_for(&big, &now_timestamp()), JSON, big.clone()).await;
    assert_eq!(v["retCode"], "body-too-large");

    // A content type the official verifier refuses: the signature failure body.
    let url = url_for(&body, &now_timestamp());
    let r = reqwest::Client::new().post(&url).header("content-type", "multipart/form-data; boundary=x").body(body.clone()).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), SIGN_FAILURE);

    // Unsigned.
    let r = raw_post(&format!("{base}{}?timestamp=x", route.path()), body.clone()).await;
    assert_eq!(r, SIGN_FAILURE);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_routes_method_is_refused_by_default_and_only_warned_when_lenient() {
    let body = br#"{}"#.to_vec();
    let signed_as_create = |base: &str| {
        format!(
            "{base}{}?{}",
            Route::Bus(BusRoute::FromCities).path(),
            signed_query("qimen.alitrip.custombus.order.create", &body, DEMO_QIMEN_SECRET, &now_timestamp())
        )
    };
    let (local, _dir) = start_local(&[]).await;
    let (_, v) = post_raw(&signed_as_create(&local.base_url()), JSON, body.clone()).await;
    assert_eq!(v["retCode"], "invalid-parameter");
    assert_eq!(v["retDesc"], "method: expected qimen.alitrip.custombus.product.fromcity.query, got qimen.alitrip.custombus.order.create");
    local.stop();
    // BUSGATE_STRICT_METHOD=false (diagnosis only) answers the same call.
    let (local, _dir) = start_local(&[("BUSGATE_STRICT_METHOD", "false")]).await;
    let (_, v) = post_raw(&signed_as_create(&local.base_url()), JSON, body.clone()).await;
    assert_eq!(v["retCode"], "0", "{v}");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_persists_across_restarts() {
    let dir = busgate_tests::TempDir::new();
    let opts = busgate_tests::local_options(&dir);
    let env = |_: &str| None;
    let first = busgate_cli::local::start(opts.clone(), &env).await.unwrap();
    let (_, before) = call_bus(&first.base_url(), Route::Bus(BusRoute::FromCities), &json!({}), DEMO_QIMEN_SECRET).await;
    // A callback committed but never handed to the queue (a crash, or a back-office command
    // run while the server was stopped) is delivered by the next run.
    let now = first.app.clock.now();
    let cb = busgate_domain::outbox::Callback::top(
        busgate_domain::outbox::new_callback_id(now),
        "taobao.bus.item.notify",
        "param_top_item_change_notify_r_q",
        r#"{"from_city":"上海市","to_city":"重启测试市","from_date":"2030-01-01"}"#.into(),
        "restart test",
        now,
    );
    first.app.store.transact(vec![cb.insert()]).await.unwrap();
    first.stop();
    // Give the aborted server a moment to release the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let second = busgate_cli::local::start(busgate_cli::local::LocalOptions { demo: false, ..opts }, &env).await.unwrap();
    let (_, after) = call_bus(&second.base_url(), Route::Bus(BusRoute::FromCities), &json!({}), DEMO_QIMEN_SECRET).await;
    assert_eq!(before["fromCityList"], after["fromCityList"]);
    assert!(after["fromCityList"].as_array().unwrap().len() >= 2, "{after}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second
        .fake_top
        .calls()
        .iter()
        .any(|c| c.params.get("param_top_item_change_notify_r_q").is_some_and(|p| p.contains("2030-01-01") && p.contains("重启测试市")))
    {
        assert!(std::time::Instant::now() < deadline, "the pending callback was not delivered after the restart");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banners_example_request_is_answered() {
    let (local, _dir) = start_local(&[]).await;
    let example = busgate_cli::local::example_request(&local.base_url(), DEMO_QIMEN_SECRET, chrono::Utc::now());
    // curl -s -X POST '<url>' -H 'Content-Type: <type>' --data-raw '<body>'
    let quoted: Vec<&str> = example.split('\'').skip(1).step_by(2).collect();
    let (url, content_type, body) = (quoted[0], quoted[1].trim_start_matches("Content-Type: "), quoted[2]);
    let (status, v) = post_raw(url, content_type, body.as_bytes().to_vec()).await;
    assert_eq!((status, v["retCode"].as_str()), (200, Some("0")), "{example}: {v}");
    local.stop();
}
