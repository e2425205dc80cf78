//! A signed request means what was signed, on the route it was signed for: the `method` binds
//! it to its route (the path is not signed), bus routes parse exactly the bytes they verified
//! (JSON only), ids are Strings, and local mode's own endpoints answer loopback callers only.

use busgate_cli::local::DEMO_QIMEN_SECRET;
use busgate_edge::{BusRoute, Route};
use busgate_tests::{call_bus, now_timestamp, post_bytes, signed_query, start_local, JSON};
use serde_json::{json, Value};

const SIGN_FAILURE: &str = r#"{"retDesc":"Illegal request","success":"false","retCode":"sign-check-failure"}"#;

/// Creates an order on a demo departure (locked, unpaid) and returns its create body.
async fn locked_order(base: &str, order_id: &str) -> Value {
    let (_, lines) = call_bus(base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", chrono::Utc::now()).expect("a demo departure");
    let body = busgate_cli::sim::order_body(&target, order_id, 1);
    let (_, created) = call_bus(base, Route::Bus(BusRoute::OrdersCreate), &body, DEMO_QIMEN_SECRET).await;
    assert_eq!((created["retCode"].as_str(), created["status"].as_str()), (Some("0"), Some("1")), "{created}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_query_replayed_to_confirm_issues_nothing() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    locked_order(&base, "950000000001").await;
    // Fliggy's signed order query, POSTed unchanged to the confirm route.
    let body = serde_json::to_vec(&json!({"alitripOrderId": "950000000001"})).unwrap();
    let query = signed_query(Route::Bus(BusRoute::OrdersQuery).default_method().unwrap(), &body, DEMO_QIMEN_SECRET, &now_timestamp());
    let answer = post_bytes(&format!("{base}{}?{query}", Route::Bus(BusRoute::OrdersConfirm).path()), Some(JSON), body.clone()).await.json();
    assert_eq!(answer["retCode"], "invalid-parameter", "{answer}");
    assert_eq!(answer["retDesc"], "method: expected qimen.alitrip.custombus.order.confirm, got qimen.alitrip.custombus.order.query",);
    // The same request on its own route answers, and shows the order still unpaid.
    let answer = post_bytes(&format!("{base}{}?{query}", Route::Bus(BusRoute::OrdersQuery).path()), Some(JSON), body).await.json();
    assert_eq!((answer["retCode"].as_str(), answer["status"].as_str()), (Some("0"), Some("1")), "{answer}");
    assert!(local.fake_top.calls().iter().all(|c| c.method != "taobao.bus.agent.bookticket.confirm"));
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_split_from_its_value_verifies_but_binds_to_no_route() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let body = serde_json::to_vec(&json!({"alitripOrderId": "950000000009"})).unwrap();
    let method = Route::Bus(BusRoute::OrdersQuery).default_method().unwrap();
    let query = signed_query(method, &body, DEMO_QIMEN_SECRET, &now_timestamp());
    // Qimen signs `name + value` with no separator and keeps empty values, so `method=X`
    // and `method&X` (two parameters, both empty) sign the same bytes: the signature cannot
    // tell them apart, the method check must.
    let split = query.replacen("method=", "method&", 1);
    let req = busgate_signing::SpiRequest { raw_query: &split, headers: &[], content_type: Some(JSON), body: &body };
    assert_eq!(busgate_signing::verify_spi(&req, DEMO_QIMEN_SECRET), Ok(()), "the signature alone cannot tell");
    let answer = post_bytes(&format!("{base}{}?{split}", Route::Bus(BusRoute::OrdersQuery).path()), Some(JSON), body).await.json();
    assert_eq!(answer["retCode"], "invalid-parameter", "{answer}");
    assert_eq!(answer["retDesc"], format!("method: expected {method}, got "), "{answer}");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_request_resent_as_a_form_is_refused_before_parsing() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let (_, lines) = call_bus(&base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let d = &lines["lineSchedule"][0];
    let seg = &d["segmentPrices"][0];
    let signed_body = serde_json::to_vec(&json!({"scheduleId": d["scheduleId"], "lineId": d["line"]["id"], "fromDate": d["line"]["fromDate"],
        "fromTime": d["line"]["fromTime"], "fromStationCode": seg["fromStationCode"], "toStationCode": seg["toStationCode"]}))
    .unwrap();
    let query = signed_query(Route::Bus(BusRoute::Seats).default_method().unwrap(), &signed_body, DEMO_QIMEN_SECRET, &now_timestamp());
    let url = format!("{base}{}?{query}", Route::Bus(BusRoute::Seats).path());
    assert_eq!(post_bytes(&url, Some(JSON), signed_body.clone()).await.json()["retCode"], "0");
    // The attack: one JSON key percent-encoded. As a form, the whole body is one field whose
    // decoded name is the signed body, so the signature holds; as JSON it means another thing.
    let text = String::from_utf8(signed_body.clone()).unwrap();
    let tampered = text.replacen("\"fromStationCode\"", "\"%66romStationCode\"", 1).into_bytes();
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let form_req = busgate_signing::SpiRequest { raw_query: &query, headers: &[], content_type: Some(form), body: &tampered };
    assert_eq!(busgate_signing::verify_spi(&form_req, DEMO_QIMEN_SECRET), Ok(()), "the signature alone cannot tell");
    let answer = post_bytes(&url, Some(form), tampered).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, SIGN_FAILURE));
    // Any other media type too; JSON's media type is compared case-insensitively.
    for ct in ["text/plain;charset=utf-8", "application/xml", "application/jsonp"] {
        assert_eq!(post_bytes(&url, Some(ct), signed_body.clone()).await.text, SIGN_FAILURE, "{ct}");
    }
    assert_eq!(post_bytes(&url, Some("Application/JSON; Charset=UTF-8"), signed_body).await.json()["retCode"], "0");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alitrip_order_id_sent_as_a_number_is_refused_naming_the_field() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let mut body = locked_order(&base, "950000000002").await;
    body["alitripOrderId"] = json!(950000000003u64);
    let (_, answer) = call_bus(&base, Route::Bus(BusRoute::OrdersCreate), &body, DEMO_QIMEN_SECRET).await;
    assert_eq!((answer["retCode"].as_str(), answer["retDesc"].as_str()), (Some("invalid-parameter"), Some("alitripOrderId: must be a string")));
    let (_, q) = call_bus(&base, Route::Bus(BusRoute::OrdersQuery), &json!({"alitripOrderId": "950000000003"}), DEMO_QIMEN_SECRET).await;
    assert_eq!(q["retCode"], "order-not-found", "nothing stored");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_endpoints_answer_loopback_callers_only() {
    use tower::ServiceExt;
    let (local, _dir) = start_local(&[]).await;
    let shared = busgate_cli::local::Shared { app: local.app.clone(), fake_top: local.fake_top.clone(), operator: "tester".into() };
    let request = |method: &str, path: &str, peer: &str| {
        let mut req =
            http::Request::builder().method(method).uri(path).header("content-type", "application/json").body(axum::body::Body::from("{}")).unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(peer.parse().unwrap()));
        req
    };
    for (method, path) in
        [("GET", "/_local/top"), ("POST", "/_local/top"), ("GET", "/_local/health"), ("POST", "/_local/fenbeitong/x"), ("POST", "/_local/admin")]
            .into_iter()
            // The console has no sign-in in local mode: loopback only too.
            .chain([
                ("GET", "/console"),
                ("GET", "/console/"),
                ("GET", "/console/work"),
                ("POST", "/console/callbacks/replay"),
                ("GET", "/console/assets/console.js"),
            ])
    {
        let r = busgate_cli::local::router(shared.clone()).oneshot(request(method, path, "192.0.2.10:40000")).await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path} from another host");
        let r = busgate_cli::local::router(shared.clone()).oneshot(request(method, path, "127.0.0.1:40000")).await.unwrap();
        assert_ne!(r.status(), 403, "{method} {path} from loopback");
    }
    // The interfaces themselves answer anyone (Fliggy is not on loopback).
    let r = busgate_cli::local::router(shared).oneshot(request("POST", Route::Bus(BusRoute::FromCities).path(), "192.0.2.10:40000")).await.unwrap();
    assert_eq!(r.status(), 200);
    local.stop();
}

#[tokio::test]
async fn an_empty_qimen_secret_stops_local_mode_with_a_clear_message() {
    let dir = busgate_tests::TempDir::new();
    let opts = busgate_tests::local_options(&dir);
    for empty in ["", "  "] {
        let env = |k: &str| (k == "BUSGATE_QIMEN_SECRET").then(|| empty.to_string());
        let err = busgate_cli::local::start(opts.clone(), &env).await.err().expect("refused");
        assert!(err.contains("BUSGATE_QIMEN_SECRET is set but empty"), "{err}");
        assert!(!err.contains(DEMO_QIMEN_SECRET));
    }
}

#[tokio::test]
async fn invalid_fenbeitong_tokens_stop_local_mode_naming_the_variable_never_a_token() {
    let dir = busgate_tests::TempDir::new();
    let opts = busgate_tests::local_options(&dir);
    let env = |k: &str| (k == "BUSGATE_FENBEITONG_TOKENS").then(|| "acme=short-tok".to_string());
    let err = busgate_cli::local::start(opts, &env).await.err().expect("refused");
    assert!(err.contains("BUSGATE_FENBEITONG_TOKENS"), "{err}");
    assert!(!err.contains("short-tok"), "{err}");
}
