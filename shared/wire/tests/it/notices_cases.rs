//! partners.md §3.2: the Fenbeitong acceptance cases B1–B19, through the same flow as the edge
//! handler (token → content type → size → intake → one renderer).

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use busgate_domain::notices::*;
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Item, Key, Store, StoreError, Write};
use busgate_wire::fenbeitong::*;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/fenbeitong/");
const TOKEN: &str = "tok-acme-0123456789abcdef";
const FLIGHT_ID: &str = "567687687987899";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).expect("fixture")
}
fn flight() -> String {
    fixture("flight_refund.json")
}
fn hotel() -> String {
    fixture("hotel_refund.json")
}
fn train() -> String {
    fixture("train_rebook.json")
}

/// Replaces the only occurrence of `from`.
fn edit(src: &str, from: &str, to: &str) -> String {
    assert_eq!(src.matches(from).count(), 1, "exactly one {from:?}");
    src.replacen(from, to, 1)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 7, 10, 8, 0, 0).unwrap()
}

fn tokens() -> Tokens {
    Tokens::parse(&format!("acme={TOKEN}")).unwrap()
}

/// The edge flow, as `notices.rs` documents it.
async fn post<S: Store + ?Sized>(store: &S, token: &str, content_type: Option<&str>, body: &[u8]) -> Response {
    let tokens = tokens();
    let result = async {
        let company = tokens.authorize(token)?;
        check_content_type(content_type)?;
        check_size(body.len())?;
        receive(store, company, body, now()).await
    }
    .await;
    respond(&result, "req-1")
}

async fn post_json<S: Store + ?Sized>(store: &S, body: &str) -> Response {
    post(store, TOKEN, Some("application/json"), body.as_bytes()).await
}

fn parsed(r: &Response) -> (i64, String) {
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("answer is JSON");
    (v["code"].as_i64().unwrap(), v["msg"].as_str().unwrap().to_string())
}

/// Asserts status, code and exact message.
fn expect(r: &Response, status: u16, code: i64, msg: &str) {
    assert_eq!((r.status, parsed(r)), (status, (code, msg.to_string())), "{}", r.body);
}

/// Asserts status, code and the start of the message.
fn expect_prefix(r: &Response, status: u16, code: i64, msg: &str) {
    let (c, m) = parsed(r);
    assert_eq!((r.status, c), (status, code), "{}", r.body);
    assert!(m.starts_with(msg), "{m:?} should start with {msg:?}");
}

async fn stored_count(store: &MemoryStore) -> usize {
    store.query_index(NOTICES_INDEX_PK, "").await.unwrap().len()
}

async fn assert_nothing_stored(store: &MemoryStore) {
    assert_eq!(stored_count(store).await, 0);
    assert!(store.query(&notice_pk(FLIGHT_ID), "").await.unwrap().is_empty());
}

#[tokio::test]
async fn b1_flight_refund_verbatim_is_stored_with_a_pending_task() {
    let store = MemoryStore::new();
    let body = flight();
    let r = post_json(&store, &body).await;
    assert_eq!(r, Response { status: 200, body: r#"{"code":0,"msg":"success"}"#.into() });
    // raw body stored byte for byte, under the company of the token
    let raw = store.get(&raw_key(FLIGHT_ID)).await.unwrap().unwrap();
    assert_eq!(raw.body, body);
    let pending = list(&store, true).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].apply_id, FLIGHT_ID);
    assert_eq!(pending[0].company, "acme");
    assert_eq!(pending[0].status, NoticeStatus::Pending);
    assert_eq!(pending[0].notice.apply_type, ApplyType::Refund);
    assert_eq!(pending[0].notice.orders[0].category, Category::Flight);
}

#[tokio::test]
async fn b2_hotel_refund_verbatim_normalises_empty_optionals() {
    let store = MemoryStore::new();
    let r = post_json(&store, &hotel()).await;
    expect(&r, 200, 0, "success");
    let n = validate(hotel().as_bytes()).unwrap();
    assert_eq!(n.apply.remark, None);
    assert_eq!(n.user.cert_no, None);
    assert_eq!(n.user.cert_type, Some(1));
    assert_eq!(n.orders[0].start_time, None);
    assert!(matches!(n.orders[0].details, OrderDetails::Hotel { room_number: Some(1), .. }));
    assert_eq!(list(&store, true).await.unwrap()[0].apply_id, "43546567786878979");
}

#[tokio::test]
async fn b3_train_rebook_verbatim_has_exact_zero_rebook_price() {
    let store = MemoryStore::new();
    expect(&post_json(&store, &train()).await, 200, 0, "success");
    let n = validate(train().as_bytes()).unwrap();
    assert_eq!(n.apply_type, ApplyType::Rebook);
    assert_eq!(n.orders[1].order_type, OrderType::New);
    assert_eq!(n.orders[1].id, None);
    assert_eq!(n.orders[1].rebook_price, Some(Decimal::ZERO));
    assert_eq!(n.orders[0].rebook_price, None);
    assert_eq!(n.cost_attributions[0].weight, Decimal::ONE_HUNDRED);
}

#[tokio::test]
async fn b4_byte_identical_redelivery_is_a_duplicate() {
    let store = MemoryStore::new();
    expect(&post_json(&store, &flight()).await, 200, 0, "success");
    let r = post_json(&store, &flight()).await;
    assert_eq!(r, Response { status: 200, body: r#"{"code":0,"msg":"duplicate ignored"}"#.into() });
    assert_eq!(list(&store, true).await.unwrap().len(), 1, "no second task");
    // reformatted (other whitespace, other member order, 100 for 100.00): same canonical body
    let v: serde_json::Value = serde_json::from_str(&flight()).unwrap();
    let compact = serde_json::to_string(&v).unwrap().replace("100.0", "100");
    expect(&post_json(&store, &compact).await, 200, 0, "duplicate ignored");
}

#[tokio::test]
async fn b5_same_apply_id_with_other_content_is_a_conflict() {
    let store = MemoryStore::new();
    expect(&post_json(&store, &flight()).await, 200, 0, "success");
    let changed = edit(&flight(), "\"apply_reason\": \"行程变更\"", "\"apply_reason\": \"航班取消\"");
    let r = post_json(&store, &changed).await;
    expect(&r, 409, 40900, "apply.id 567687687987899 already received with different content");
    // the stored body is still the first one
    assert_eq!(store.get(&raw_key(FLIGHT_ID)).await.unwrap().unwrap().body, flight());
}

#[tokio::test]
async fn b6_missing_apply_id() {
    let store = MemoryStore::new();
    let body = edit(&flight(), "\"id\": \"567687687987899\",\n", "");
    expect(&post_json(&store, &body).await, 400, 40001, "apply.id: missing required field");
    assert_eq!(stored_count(&store).await, 0);
}

#[tokio::test]
async fn b7_apply_type_out_of_enum_then_of_wrong_type() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&flight(), "\"apply_type\": \"1\"", "\"apply_type\": \"3\"")).await;
    expect(&r, 400, 40003, "apply_type: invalid value \"3\" (allowed \"1\"=refund, \"2\"=rebook)");
    let r = post_json(&store, &edit(&flight(), "\"apply_type\": \"1\"", "\"apply_type\": 1")).await;
    expect(&r, 400, 40002, "apply_type: expected string, got number 1");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b8_international_flight_category() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&flight(), "\"category\": 6", "\"category\": 7")).await;
    expect(&r, 400, 40003, "orders[0].category: 7 (international flight) not supported; allowed 6, 8, 9");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b9_flight_conditional_fields() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&flight(), "\"flight_code\": \"CA1651\",", "")).await;
    expect(&r, 400, 40001, "orders[0].flight_code: required when category=6");
    let r = post_json(&store, &edit(&flight(), "\"start_station\": \"首都机场\",", "")).await;
    expect(&r, 400, 40001, "orders[0].start_station: required when category=6");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b10_start_data_end_data_aliases() {
    let store = MemoryStore::new();
    let aliased = edit(&edit(&flight(), "\"start_date\"", "\"start_data\""), "\"end_date\"", "\"end_data\"");
    let n = validate(aliased.as_bytes()).unwrap();
    assert_eq!(n.orders[0].start_date.to_string(), "2022-07-13");
    assert_eq!(n.orders[0].end_date.to_string(), "2022-07-13");
    assert_eq!(n.warnings.len(), 2, "{:?}", n.warnings);
    assert!(n.warnings[0].starts_with("orders[0].start_data"));
    expect(&post_json(&store, &aliased).await, 200, 0, "success");

    let store = MemoryStore::new();
    let both = edit(&flight(), "\"start_date\": \"2022-07-13\",", "\"start_date\": \"2022-07-13\", \"start_data\": \"2022-07-14\",");
    let r = post_json(&store, &both).await;
    expect_prefix(&r, 400, 40005, "orders[0]: start_date and start_data disagree");
    assert!(parsed(&r).1.contains("\"2022-07-14\""));
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b11_invalid_date_and_time() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&flight(), "\"start_date\": \"2022-07-13\"", "\"start_date\": \"2022-13-01\"")).await;
    expect(&r, 400, 40004, "orders[0].start_date: not a valid YYYY-MM-DD date (\"2022-13-01\")");
    let r = post_json(&store, &edit(&flight(), "\"start_time\": \"08:55\"", "\"start_time\": \"8:55\"")).await;
    expect(&r, 400, 40004, "orders[0].start_time: not a valid HH:mm time (\"8:55\")");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b12_rebook_price_not_decimal_then_too_precise() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&train(), "\"rebook_price\": \"0\"", "\"rebook_price\": \"abc\"")).await;
    expect_prefix(&r, 400, 40004, "orders[1].rebook_price: not a decimal");
    let r = post_json(&store, &edit(&train(), "\"rebook_price\": \"0\"", "\"rebook_price\": 12.345")).await;
    expect(&r, 400, 40004, "orders[1].rebook_price: at most 2 decimal places (got 12.345)");
    assert_eq!(stored_count(&store).await, 0);
}

#[tokio::test]
async fn b13_order_shape_by_apply_type() {
    let store = MemoryStore::new();
    let extra = r#"}, {
        "category": 6, "type": "2", "start_city": "北京市", "end_city": "沈阳市",
        "start_date": "2022-07-14", "end_date": "2022-07-14", "start_time": "08:55", "end_time": "10:25",
        "flight_code": "CA1651", "airline_name": "中国国航", "cabin": "经济舱",
        "start_station": "首都机场", "end_station": "桃仙机场"
    }],"#;
    let r = post_json(&store, &edit(&flight(), "}],", extra)).await;
    expect(&r, 400, 40005, "orders: refund notice must not contain type \"2\" orders");

    let mut v: serde_json::Value = serde_json::from_str(&train()).unwrap();
    v["orders"].as_array_mut().unwrap().remove(1);
    let r = post_json(&store, &v.to_string()).await;
    expect(&r, 400, 40005, "orders: rebook notice needs a type \"2\" order");
    assert_eq!(stored_count(&store).await, 0);
}

#[tokio::test]
async fn b14_truncated_body() {
    let store = MemoryStore::new();
    let r = post_json(&store, "{\"apply_type\":\"1\",").await;
    expect(&r, 400, 40000, "malformed JSON at line 1 column 18");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["request_id"], "req-1");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b15_oversize_body_refused_before_parsing() {
    let store = MemoryStore::new();
    // 300 KiB that is not even JSON: 413, not 400, so it was never parsed
    let body = vec![b'x'; 300 * 1024];
    let r = post(&store, TOKEN, Some("application/json"), &body).await;
    expect(&r, 413, 41300, "body exceeds 262144 bytes");
    assert_eq!(status(&validate(&body).unwrap_err()), 413);
    assert_eq!(stored_count(&store).await, 0);
}

#[tokio::test]
async fn b16_wrong_content_type() {
    let store = MemoryStore::new();
    let r = post(&store, TOKEN, Some("text/plain"), flight().as_bytes()).await;
    expect_prefix(&r, 415, 41500, "Content-Type: unsupported media type \"text/plain\"");
    for bad in [None, Some("application/json; charset=gbk"), Some("multipart/form-data; boundary=x")] {
        assert_eq!(code(&check_content_type(bad).unwrap_err()), 41500, "{bad:?}");
    }
    for good in ["application/json", "Application/JSON;charset=UTF-8", "application/json; charset=\"utf-8\""] {
        assert!(check_content_type(Some(good)).is_ok(), "{good}");
    }
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b17_wrong_tenant_token() {
    let store = MemoryStore::new();
    let r = post(&store, "tok-acme-0123456789abcdeX", Some("application/json"), flight().as_bytes()).await;
    expect(&r, 401, 40100, "unauthorized callback URL");
    // not parsed either: garbage gets the same 401
    let r = post(&store, "", Some("text/plain"), b"{").await;
    expect(&r, 401, 40100, "unauthorized callback URL");
    assert_nothing_stored(&store).await;
}

#[tokio::test]
async fn b18_cert_type_out_of_range() {
    let store = MemoryStore::new();
    let r = post_json(&store, &edit(&flight(), "\"cert_type\": 1", "\"cert_type\": 9")).await;
    expect(&r, 400, 40003, "user.cert_type: invalid value 9 (allowed 1–6)");
    assert_nothing_stored(&store).await;
}

/// A store that can be taken down.
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
}

#[async_trait]
impl Store for Flaky {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("down".into()));
        }
        self.inner.get(key).await
    }
    async fn query(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query(pk, sk).await
    }
    async fn query_index(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query_index(pk, sk).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        self.inner.transact(writes).await
    }
}

#[tokio::test]
async fn b19_database_down_then_redelivery_succeeds() {
    let store = Flaky { inner: MemoryStore::new(), down: AtomicBool::new(true) };
    let r = post_json(&store, &flight()).await;
    expect(&r, 500, 50000, "internal error, please retry");
    assert!(!r.body.contains("connection refused"), "internal detail stays in our logs");
    assert_eq!(stored_count(&store.inner).await, 0);
    store.down.store(false, Ordering::SeqCst);
    expect(&post_json(&store, &flight()).await, 200, 0, "success");
    expect(&post_json(&store, &flight()).await, 200, 0, "duplicate ignored");
}
