//! Strict intake beyond §3.2: every rule of §2.7 V4–V16 and the §2.4 decisions.

use busgate_domain::notices::*;
use busgate_wire::fenbeitong::*;
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/fenbeitong/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).expect("fixture")
}

fn flight_value() -> Value {
    serde_json::from_str(&fixture("flight_refund.json")).unwrap()
}

fn train_value() -> Value {
    serde_json::from_str(&fixture("train_rebook.json")).unwrap()
}

fn hotel_value() -> Value {
    serde_json::from_str(&fixture("hotel_refund.json")).unwrap()
}

fn check(v: &Value) -> Result<Notice, NoticeError> {
    validate(v.to_string().as_bytes())
}

/// Validates `v` and expects an error with this code and exact message.
fn fails(v: &Value, want: u32, msg: &str) {
    let e = check(v).expect_err(msg);
    assert_eq!((code(&e), e.to_string()), (want, msg.to_string()));
    assert_eq!(status(&e), 400);
}

fn fails_raw(body: &[u8], want: u32, prefix: &str) {
    let e = validate(body).expect_err(prefix);
    assert_eq!(code(&e), want, "{e}");
    assert!(e.to_string().starts_with(prefix), "{e} should start with {prefix}");
}

#[test]
fn the_three_seed_examples_are_accepted_byte_for_byte() {
    let f = validate(fixture("flight_refund.json").as_bytes()).unwrap();
    assert_eq!(f.apply.id, "567687687987899");
    assert_eq!(f.apply.remark.as_deref(), Some("134949"));
    assert_eq!(f.proposer.third_dept_id.as_deref(), Some("379309935"));
    let o = &f.orders[0];
    assert_eq!((o.category, o.order_type, o.id.as_deref()), (Category::Flight, OrderType::Original, Some("456677687688779")));
    assert_eq!(o.start_date, NaiveDate::from_ymd_opt(2022, 7, 13).unwrap());
    assert_eq!(o.start_time, NaiveTime::from_hms_opt(8, 55, 0));
    assert_eq!(o.end_time, NaiveTime::from_hms_opt(10, 25, 0));
    assert_eq!(o.start_station.as_deref(), Some("首都机场"));
    assert_eq!(o.details, OrderDetails::Flight { flight_code: "CA1651".into(), airline_name: "中国国航".into(), cabin: "经济舱".into() });
    assert_eq!(f.user.cert_no.as_deref(), Some("2302*************3"));
    assert_eq!(f.cost_attributions.len(), 2);
    assert_eq!(f.cost_attributions[1].third_id, None);
    assert_eq!(f.cost_attributions[0].weight.to_string(), "100.00");
    assert!(f.warnings.is_empty() && f.unknown_fields.is_empty());
    assert_eq!(f.digest.len(), 64);

    let h = validate(fixture("hotel_refund.json").as_bytes()).unwrap();
    assert_eq!(h.orders[0].category, Category::Hotel);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);

    let t = validate(fixture("train_rebook.json").as_bytes()).unwrap();
    assert_eq!(t.orders.len(), 2);
    assert_eq!(t.original_order_ids(), vec!["4657676878979980"]);
    assert!(matches!(&t.orders[0].details, OrderDetails::Train { seat_location: Some(s), .. } if s == "03车厢,001号"));
    // §2.4.7: a rebook to an earlier date is legitimate
    assert!(t.orders[1].start_date < t.orders[0].start_date);
}

#[test]
fn digest_is_canonical() {
    let a = validate(fixture("flight_refund.json").as_bytes()).unwrap();
    let b = check(&flight_value()).unwrap(); // other whitespace and member order, 100.0
    assert_eq!(a.digest, b.digest);
    let mut v = flight_value();
    v["apply"]["remark"] = json!("134950");
    assert_ne!(check(&v).unwrap().digest, a.digest);
    let mut v = flight_value();
    v["extra"] = json!(1);
    assert_ne!(check(&v).unwrap().digest, a.digest, "unknown fields count");
}

#[test]
fn v4_malformed_bodies() {
    fails_raw(b"", 40000, "malformed JSON at line 1 column 0");
    fails_raw(b"[1,2]", 40000, "$: expected object, got array");
    fails_raw(b"\"x\"", 40000, "$: expected object, got string");
    fails_raw(b"{\"apply_type\":\"1\"} x", 40000, "malformed JSON at line 1 column 20");
    fails_raw(b"{\"apply_type\":\"\xc3\x28\"}", 40000, "malformed JSON at line 1 column 16: invalid UTF-8");
    fails_raw(b"\xef\xbb\xbf{}", 40000, "malformed JSON at line 1 column 1");
    fails_raw(br#"{"apply_type":"1","apply_type":"1"}"#, 40000, "apply_type: duplicate member name");
    fails_raw(br#"{"apply":{"id":"1","id":"2"}}"#, 40000, "apply.id: duplicate member name \"id\"");
    fails_raw(br#"{"orders":[{"a":1,"a":2}]}"#, 40000, "orders[0].a: duplicate member name");
    fails_raw(br#"{"x":"\ud800"}"#, 40000, "malformed JSON");
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(20), "]".repeat(20));
    fails_raw(deep.as_bytes(), 40004, "x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16 levels");
    // serde_json checks the syntax without recursion, so even absurd nesting cannot overflow
    let very_deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    fails_raw(very_deep.as_bytes(), 40004, "x[0]");
    let unbalanced = format!("{{\"x\":{}", "[".repeat(100_000));
    fails_raw(unbalanced.as_bytes(), 40000, "malformed JSON at line 1 column 100005");
}

#[test]
fn v5_required_fields_absent_null_or_blank() {
    for path in [
        "/apply_type",
        "/apply",
        "/apply/name",
        "/proposer",
        "/proposer/id",
        "/proposer/phone",
        "/proposer/name",
        "/proposer/dept_id",
        "/proposer/all_path_dept_name",
        "/orders",
        "/orders/0/category",
        "/orders/0/type",
        "/orders/0/start_city",
        "/orders/0/end_city",
        "/orders/0/start_date",
        "/orders/0/end_date",
        "/user",
        "/user/name",
        "/user/phone",
        "/contacter_name",
        "/contacter_phone",
        "/cost_attributions/0/id",
        "/cost_attributions/0/name",
        "/cost_attributions/0/weight",
    ] {
        let dotted = path[1..].replace("/0/", "[0].").replace('/', ".");
        let (parent, key) = path.rsplit_once('/').unwrap();
        let mut v = flight_value();
        v.pointer_mut(if parent.is_empty() { "" } else { parent }).unwrap().as_object_mut().unwrap().remove(key);
        fails(&v, 40001, &format!("{dotted}: missing required field"));
        let mut v = flight_value();
        *v.pointer_mut(path).unwrap() = Value::Null;
        fails(&v, 40001, &format!("{dotted}: missing required field"));
    }
    let mut v = flight_value();
    v["apply"]["name"] = json!("  ");
    fails(&v, 40001, "apply.name: missing required field (got blank string \"  \")");
}

#[test]
fn v6_exact_json_types() {
    let mut v = flight_value();
    v["orders"][0]["category"] = json!("6");
    fails(&v, 40002, "orders[0].category: expected integer, got string \"6\"");
    let mut v = flight_value();
    v["orders"][0]["category"] = serde_json::from_str("6.0").unwrap();
    fails(&v, 40002, "orders[0].category: expected integer, got number 6.0");
    let mut v = flight_value();
    v["orders"][0]["type"] = json!(1);
    fails(&v, 40002, "orders[0].type: expected string, got number 1");
    let mut v = flight_value();
    v["apply"]["id"] = json!(567687687987899u64);
    fails(&v, 40002, "apply.id: expected string, got number 567687687987899");
    let mut v = flight_value();
    v["user"]["cert_type"] = json!("1");
    fails(&v, 40002, "user.cert_type: expected integer, got string \"1\"");
    let mut v = flight_value();
    v["user"] = json!(["x"]);
    fails(&v, 40002, "user: expected object, got array");
    let mut v = flight_value();
    v["orders"] = json!({});
    fails(&v, 40002, "orders: expected array, got object");
    let mut v = flight_value();
    v["orders"][0] = json!("x");
    fails(&v, 40002, "orders[0]: expected object, got string \"x\"");
    let mut v = flight_value();
    v["cost_attributions"] = json!(true);
    fails(&v, 40002, "cost_attributions: expected array, got boolean true");
    let mut v = flight_value();
    v["cost_attributions"][0]["weight"] = json!(true);
    fails(&v, 40002, "cost_attributions[0].weight: expected number or numeric string, got boolean true");
    let mut v = hotel_value();
    v["orders"][0]["room_number"] = json!("1");
    fails(&v, 40002, "orders[0].room_number: expected integer, got string \"1\"");
    // a category-foreign known field is still type-checked
    let mut v = hotel_value();
    v["orders"][0]["flight_code"] = json!(5);
    fails(&v, 40002, "orders[0].flight_code: expected string, got number 5");
    // weight as a numeric string, rebook_price as a number: both fine
    let mut v = train_value();
    v["cost_attributions"][0]["weight"] = json!("50.5");
    v["orders"][1]["rebook_price"] = serde_json::from_str("12.30").unwrap();
    let n = check(&v).unwrap();
    assert_eq!(n.cost_attributions[0].weight, Decimal::new(5050, 2));
    assert_eq!(n.orders[1].rebook_price.unwrap().to_string(), "12.30");
}

#[test]
fn v7_enumerations() {
    let mut v = flight_value();
    v["orders"][0]["category"] = json!(5);
    fails(&v, 40003, "orders[0].category: invalid value 5 (allowed 6=flight, 8=hotel, 9=train)");
    let body = fixture("flight_refund.json").replace("\"category\": 6", "\"category\": 123456789012345678901234567890");
    let e = validate(body.as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), "orders[0].category: invalid value 123456789012345678901234567890 (allowed 6=flight, 8=hotel, 9=train)");
    let mut v = flight_value();
    v["orders"][0]["type"] = json!("3");
    fails(&v, 40003, "orders[0].type: invalid value \"3\" (allowed \"1\"=original, \"2\"=new)");
    let mut v = flight_value();
    v["apply_type"] = json!(" 1");
    fails(&v, 40003, "apply_type: invalid value \" 1\" (allowed \"1\"=refund, \"2\"=rebook)");
    let mut v = flight_value();
    v["user"]["cert_type"] = json!(0);
    fails(&v, 40003, "user.cert_type: invalid value 0 (allowed 1–6)");
    let opts = ValidateOptions { allow_cert_type_unknown: true };
    assert_eq!(validate_with(v.to_string().as_bytes(), &opts).unwrap().user.cert_type, Some(0));
    v["user"]["cert_type"] = json!(7);
    assert_eq!(validate_with(v.to_string().as_bytes(), &opts).unwrap_err().to_string(), "user.cert_type: invalid value 7 (allowed 0–6)");
    for t in 1..=6 {
        let mut v = flight_value();
        v["user"]["cert_type"] = json!(t);
        assert_eq!(check(&v).unwrap().user.cert_type, Some(t as u8));
    }
}

#[test]
fn v8_category_conditional_fields() {
    for key in ["flight_code", "airline_name", "cabin", "start_time", "end_time", "start_station", "end_station"] {
        let mut v = flight_value();
        v["orders"][0].as_object_mut().unwrap().remove(key);
        fails(&v, 40001, &format!("orders[0].{key}: required when category=6"));
        let mut v = flight_value();
        v["orders"][0][key] = json!("");
        fails(&v, 40001, &format!("orders[0].{key}: required when category=6"));
    }
    for key in ["hotel_name", "hotel_address", "room_type"] {
        let mut v = hotel_value();
        v["orders"][0].as_object_mut().unwrap().remove(key);
        fails(&v, 40001, &format!("orders[0].{key}: required when category=8"));
    }
    for key in ["train_code", "seat_type", "start_time", "end_time"] {
        let mut v = train_value();
        v["orders"][1].as_object_mut().unwrap().remove(key);
        fails(&v, 40001, &format!("orders[1].{key}: required when category=9"));
    }
    // train stations are optional (the new order of the example has them, the rule does not)
    let mut v = train_value();
    v["orders"][0].as_object_mut().unwrap().remove("start_station");
    assert!(check(&v).is_ok());
    let mut v = flight_value();
    v["orders"][0].as_object_mut().unwrap().remove("id");
    fails(&v, 40001, "orders[0].id: required when type=\"1\"");
}

#[test]
fn v9_formats() {
    let cases: &[(&str, Value, &str)] = &[
        ("/orders/0/start_date", json!("2022-02-30"), "orders[0].start_date: not a valid YYYY-MM-DD date (\"2022-02-30\")"),
        ("/orders/0/start_date", json!("2022-7-13"), "orders[0].start_date: not a valid YYYY-MM-DD date (\"2022-7-13\")"),
        ("/orders/0/end_date", json!("2022/07/13"), "orders[0].end_date: not a valid YYYY-MM-DD date (\"2022/07/13\")"),
        ("/orders/0/end_time", json!("24:00"), "orders[0].end_time: not a valid HH:mm time (\"24:00\")"),
        ("/orders/0/end_time", json!("10:25:00"), "orders[0].end_time: not a valid HH:mm time (\"10:25:00\")"),
        ("/proposer/phone", json!("1888888888a"), "proposer.phone: not a valid phone number (\"1888888888a\")"),
        ("/user/phone", json!("1234"), "user.phone: not a valid phone number (\"1234\")"),
        ("/contacter_phone", json!("+86-188-8888-8888-12345"), "contacter_phone: not a valid phone number (\"+86-188-8888-8888-12345\")"),
        ("/cost_attributions/0/weight", json!(0), "cost_attributions[0].weight: must be in (0, 100] (got 0.00)"),
        ("/cost_attributions/0/weight", json!("100.01"), "cost_attributions[0].weight: must be in (0, 100] (got 100.01)"),
        ("/cost_attributions/0/weight", json!(-5), "cost_attributions[0].weight: must not be negative (got -5)"),
        ("/cost_attributions/0/weight", json!("1e2"), "cost_attributions[0].weight: not a decimal (got \"1e2\")"),
        ("/cost_attributions/0/weight", json!(" 50"), "cost_attributions[0].weight: not a decimal (got \" 50\")"),
        ("/cost_attributions/0/weight", json!("33.333"), "cost_attributions[0].weight: at most 2 decimal places (got \"33.333\")"),
    ];
    for (ptr, value, msg) in cases {
        let mut v = flight_value();
        *v.pointer_mut(ptr).unwrap() = value.clone();
        fails(&v, 40004, msg);
    }
    assert!(check(&{
        let mut v = flight_value();
        v["contacter_phone"] = json!("+86-188-8888-8888");
        v
    })
    .is_ok());
    let mut v = hotel_value();
    v["orders"][0]["room_number"] = json!(0);
    fails(&v, 40004, "orders[0].room_number: must be between 1 and 99 (got 0)");
    v["orders"][0]["room_number"] = json!(100);
    fails(&v, 40004, "orders[0].room_number: must be between 1 and 99 (got 100)");
    let mut v = train_value();
    v["orders"][1]["rebook_price"] = json!("-1");
    fails(&v, 40004, "orders[1].rebook_price: must not be negative (got \"-1\")");
    let mut v = train_value();
    v["orders"][1]["rebook_price"] = json!("1234567890123456");
    fails(&v, 40004, "orders[1].rebook_price: out of range (got \"1234567890123456\")");
    // exponent notation in a JSON number is read exactly
    let body = fixture("train_rebook.json").replace("\"rebook_price\": \"0\"", "\"rebook_price\": 1.5e1");
    assert_eq!(validate(body.as_bytes()).unwrap().orders[1].rebook_price, Some(Decimal::new(1500, 2)));
    let body = fixture("train_rebook.json").replace("\"rebook_price\": \"0\"", "\"rebook_price\": 0.1e-1");
    assert_eq!(validate(body.as_bytes()).unwrap().orders[1].rebook_price, Some(Decimal::new(1, 2)));
    let body = fixture("train_rebook.json").replace("\"rebook_price\": \"0\"", "\"rebook_price\": 0.1e-2");
    assert_eq!(validate(body.as_bytes()).unwrap_err().to_string(), "orders[1].rebook_price: at most 2 decimal places (got 0.1e-2)");
    // a price beyond f64 precision stays exact
    let body = fixture("train_rebook.json").replace("\"rebook_price\": \"0\"", "\"rebook_price\": 123456789012345.67");
    assert_eq!(validate(body.as_bytes()).unwrap().orders[1].rebook_price.unwrap().to_string(), "123456789012345.67");
}

#[test]
fn v10_chronology() {
    let mut v = flight_value();
    v["orders"][0]["end_time"] = json!("08:00");
    fails(&v, 40005, "orders[0]: ends before it starts (end 2022-07-13 08:00 < start 2022-07-13 08:55)");
    let mut v = flight_value();
    v["orders"][0]["end_date"] = json!("2022-07-14");
    v["orders"][0]["end_time"] = json!("08:00");
    assert!(check(&v).is_ok(), "overnight arrival");
    let mut v = hotel_value();
    v["orders"][0]["end_date"] = json!("2022-06-14");
    fails(&v, 40005, "orders[0]: end_date 2022-06-14 is before start_date 2022-06-15");
    v["orders"][0]["end_date"] = json!("2022-06-15");
    let n = check(&v).unwrap();
    assert_eq!(n.warnings, vec!["orders[0]: hotel stay ends on its start date 2022-06-15".to_string()]);
}

#[test]
fn v11_shape_by_apply_type() {
    let mut v = train_value();
    v["orders"].as_array_mut().unwrap().remove(0);
    fails(&v, 40005, "orders: rebook notice needs a type \"1\" order");
    let mut v = train_value();
    v["orders"][1]["category"] = json!(6);
    v["orders"][1]["flight_code"] = json!("CA1");
    v["orders"][1]["airline_name"] = json!("国航");
    v["orders"][1]["cabin"] = json!("经济舱");
    v["orders"][1]["start_station"] = json!("A");
    v["orders"][1]["end_station"] = json!("B");
    fails(&v, 40005, "orders[1].category: rebook orders must share one category (got 6, orders[0] has 9)");
    // refund with several original orders is fine
    let mut v = flight_value();
    let first = v["orders"][0].clone();
    v["orders"].as_array_mut().unwrap().push(first);
    assert_eq!(check(&v).unwrap().orders.len(), 2);
}

#[test]
fn v12_aliases_with_the_same_value() {
    let mut v = flight_value();
    v["orders"][0]["start_data"] = json!("2022-07-13");
    let n = check(&v).unwrap();
    assert_eq!(n.warnings.len(), 1);
    let mut v = flight_value();
    v["orders"][0]["end_data"] = json!(20220713);
    fails(&v, 40002, "orders[0].end_data: expected string, got number 20220713");
    let mut v = flight_value();
    v["orders"][0].as_object_mut().unwrap().remove("end_date");
    v["orders"][0]["end_data"] = json!("2022-7-13");
    fails(&v, 40004, "orders[0].end_data: not a valid YYYY-MM-DD date (\"2022-7-13\")");
}

#[test]
fn v13_limits() {
    let mut v = flight_value();
    v["apply"]["name"] = json!("名".repeat(257));
    fails(&v, 40004, "apply.name: longer than 256 characters (got 257)");
    v["apply"]["name"] = json!("名".repeat(256));
    assert!(check(&v).is_ok());
    v["apply"]["remark"] = json!("x".repeat(2000));
    assert!(check(&v).is_ok());
    v["apply"]["remark"] = json!("x".repeat(2001));
    fails(&v, 40004, "apply.remark: longer than 2000 characters (got 2001)");
    let mut v = flight_value();
    v["orders"] = json!([]);
    fails(&v, 40004, "orders: at least 1 item required (got 0)");
    let first = flight_value()["orders"][0].clone();
    v["orders"] = Value::Array(vec![first.clone(); 20]);
    assert!(check(&v).is_ok());
    v["orders"] = Value::Array(vec![first; 21]);
    fails(&v, 40004, "orders: at most 20 items (got 21)");
    let mut v = flight_value();
    let line = v["cost_attributions"][0].clone();
    v["cost_attributions"] = Value::Array(vec![line.clone(); 50]);
    assert!(check(&v).is_ok());
    v["cost_attributions"] = Value::Array(vec![line; 51]);
    fails(&v, 40004, "cost_attributions: at most 50 items (got 51)");
    let mut v = flight_value();
    v["orders"][0]["seat_location"] = json!("x".repeat(300));
    fails(&v, 40004, "orders[0].seat_location: longer than 256 characters (got 300)");
    // a huge unknown string is accepted within the body limit
    let mut v = flight_value();
    v["note"] = json!("x".repeat(100_000));
    assert!(check(&v).is_ok());
}

#[test]
fn v15_unknown_fields_accepted_and_listed() {
    let mut v = flight_value();
    v["notice_id"] = json!("n1");
    v["orders"][0]["ticket_no"] = json!("999");
    v["user"]["email"] = json!("a@b.c");
    let n = check(&v).unwrap();
    let mut u = n.unknown_fields.clone();
    u.sort();
    assert_eq!(u, vec!["notice_id", "orders[0].ticket_no", "user.email"]);
    let mut v = flight_value();
    for i in 0..60 {
        v[format!("x{i}")] = json!(i);
    }
    let n = check(&v).unwrap();
    assert_eq!(n.unknown_fields.len(), MAX_UNKNOWN_KEPT + 1);
    assert_eq!(n.unknown_fields.last().unwrap(), "(and 10 more)");
}

#[test]
fn v16_empty_optionals_and_cert_rules() {
    let mut v = flight_value();
    v["apply"]["apply_reason"] = json!("");
    v["proposer"]["third_id"] = json!("");
    v["user"]["cert_no"] = Value::Null;
    let n = check(&v).unwrap();
    assert_eq!((n.apply.apply_reason, n.proposer.third_id, n.user.cert_no), (None, None, None));
    let mut v = flight_value();
    v["user"].as_object_mut().unwrap().remove("cert_type");
    fails(&v, 40001, "user.cert_type: required when user.cert_no is given");
    v["user"]["cert_no"] = json!("");
    assert!(check(&v).is_ok(), "no cert at all is fine");
    let mut v = train_value();
    v["orders"][1]["rebook_price"] = json!("");
    assert_eq!(check(&v).unwrap().orders[1].rebook_price, None);
}

#[test]
fn renderer_and_status_table() {
    let table: Vec<(NoticeError, u16, u32)> = vec![
        (NoticeError::Unauthorized, 401, 40100),
        (NoticeError::MediaType("m".into()), 415, 41500),
        (NoticeError::TooLarge { limit: MAX_BODY_BYTES, size: MAX_BODY_BYTES + 1 }, 413, 41300),
        (NoticeError::Malformed("m".into()), 400, 40000),
        (NoticeError::Missing("m".into()), 400, 40001),
        (NoticeError::WrongType("m".into()), 400, 40002),
        (NoticeError::InvalidValue("m".into()), 400, 40003),
        (NoticeError::Format("m".into()), 400, 40004),
        (NoticeError::Inconsistent("m".into()), 400, 40005),
        (NoticeError::Conflict { apply_id: "1".into() }, 409, 40900),
        (NoticeError::Internal("db".into()), 500, 50000),
    ];
    for (e, want_status, want_code) in table {
        assert_eq!((status(&e), code(&e)), (want_status, want_code), "{e:?}");
        let r = respond(&Err(e.clone()), "rid-9");
        assert_eq!(r.status, want_status);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v, json!({"code": want_code, "msg": public_message(&e), "request_id": "rid-9"}));
    }
    let r = respond(&Err(NoticeError::Missing("apply.id: missing required field".into())), "");
    assert_eq!(r.body, r#"{"code":40001,"msg":"apply.id: missing required field"}"#);
    assert_eq!(respond(&Ok(IntakeOutcome::Accepted { apply_id: "1".into() }), "x").body, r#"{"code":0,"msg":"success"}"#);
    // messages with quotes stay valid JSON
    let e = check(&{
        let mut v = flight_value();
        v["apply_type"] = json!("\"\u{1}\\");
        v
    })
    .unwrap_err();
    let body: Value = serde_json::from_str(&respond(&Err(e.clone()), "r").body).unwrap();
    assert_eq!(body["msg"], e.to_string());
    assert_eq!(check_size(MAX_BODY_BYTES), Ok(()));
    let mut v = flight_value();
    v["pad"] = json!("x".repeat(MAX_BODY_BYTES));
    assert_eq!(status(&check(&v).unwrap_err()), 413);
}

#[test]
fn values_in_messages_are_shortened() {
    let mut v = flight_value();
    v["apply_type"] = json!("9".repeat(200));
    let msg = check(&v).unwrap_err().to_string();
    assert!(msg.len() < 200, "{msg}");
    assert!(msg.contains('…'));
}
