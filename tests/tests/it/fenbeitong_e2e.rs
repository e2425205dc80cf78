//! End to end through local mode's real HTTP server: Fenbeitong refund/rebook notices
//! (partners.md "Busgate decisions", §2.5, §2.7, §3.2). The three seed examples are posted
//! byte for byte to `/fenbeitong/notify/<token>`; duplicates, conflicts, a wrong token and bad
//! requests get their answers; the domain holds exactly the accepted notices; and an
//! operator's decision reaches the (fake) Fenbeitong API signed with
//! md5(`timestamp=…&data=…&sign_key=…`), recomputed here independently.

use std::time::Duration;

use busgate_cli::local::DEMO_FENBEITONG_TOKEN as TOKEN;
use busgate_domain::notices::{self, NoticeStatus};
use busgate_domain::outbox::{Callback, CallbackStatus};
use busgate_tests::{post_bytes, repo_file, start_local, wait_for, RawAnswer};
use md5::{Digest, Md5};
use serde_json::{json, Value};

const CT: &str = "application/json";
const FLIGHT_ID: &str = "567687687987899";
const HOTEL_ID: &str = "43546567786878979";
const TRAIN_ID: &str = "132432345456766768790";
/// local mode's `BUSGATE_FENBEITONG_SIGN_KEY` / `_ACCESS_TOKEN` defaults.
const SIGN_KEY: &str = "demo-sign-key";
const ACCESS_TOKEN: &str = "demo-access-token";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_file(&format!("tests/fixtures/fenbeitong/{name}.json"))).expect("seed example")
}

fn notify_url(base: &str, token: &str) -> String {
    format!("{base}/fenbeitong/notify/{token}")
}

/// The JSON of an answer, with its status; every answer is JSON.
#[track_caller]
fn answer(a: &RawAnswer, status: u16) -> Value {
    assert_eq!(a.status, status, "{a:?}");
    assert!(a.content_type.starts_with("application/json"), "{a:?}");
    a.json()
}

/// A refusal: `{"code":…,"msg":…,"request_id":…}` with the status; returns msg.
#[track_caller]
fn refusal(a: &RawAnswer, status: u16, code: u64) -> String {
    let v = answer(a, status);
    assert_eq!(v["code"], code, "{v}");
    assert!(v["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
    v["msg"].as_str().unwrap().to_string()
}

/// Removes the whitespace outside strings (the same notice, other bytes).
fn minify(body: &[u8]) -> Vec<u8> {
    let (mut out, mut in_str, mut esc) = (Vec::new(), false, false);
    for &b in body {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !b" \t\r\n".contains(&b) {
            in_str = b == b'"';
            out.push(b);
        }
    }
    out
}

fn replace(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.contains(from), "{from} not in the body");
    text.replacen(from, to, 1).into_bytes()
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

async fn stored(local: &busgate_cli::local::Running) -> Vec<(String, String, NoticeStatus)> {
    let mut v: Vec<_> =
        notices::list(local.app.store.as_ref(), false).await.unwrap().into_iter().map(|r| (r.apply_id, r.company, r.status)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_notices_are_stored_once_and_decisions_reach_fenbeitong_signed() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let url = notify_url(&base, TOKEN);
    let (flight, hotel, train) = (fixture("flight_refund"), fixture("hotel_refund"), fixture("train_rebook"));

    // B17: a wrong token first: 401, nothing read or stored.
    for token in ["demo-fenbeitong-token-0002", "x", &TOKEN.to_uppercase()] {
        let a = post_bytes(&notify_url(&base, token), Some(CT), flight.clone()).await;
        assert_eq!(refusal(&a, 401, 40100), "unauthorized callback URL");
    }
    let a = post_bytes(&format!("{base}/fenbeitong/notify/"), Some(CT), flight.clone()).await;
    assert!((400..500).contains(&a.status), "{a:?}");
    assert_eq!(stored(&local).await, vec![]);

    // B1–B3: the seed examples, byte for byte.
    for body in [&flight, &hotel, &train] {
        let a = post_bytes(&url, Some(CT), body.clone()).await;
        let v = answer(&a, 200);
        assert_eq!((v["code"].as_i64(), v["msg"].as_str()), (Some(0), Some("success")), "{v}");
    }
    // B4: the same body again, or the same notice in other bytes: acknowledged, ignored.
    for (body, ct) in [(&flight, CT), (&train, "application/json;charset=utf-8"), (&minify(&hotel), "Application/JSON; charset=UTF-8")] {
        let a = post_bytes(&url, Some(ct), body.clone()).await;
        let v = answer(&a, 200);
        assert_eq!((v["code"].as_i64(), v["msg"].as_str()), (Some(0), Some("duplicate ignored")), "{v}");
    }
    // B5: the same apply.id with other content: 409.
    let changed = replace(&flight, "行程变更", "航班取消");
    let a = post_bytes(&url, Some(CT), changed).await;
    assert_eq!(refusal(&a, 409, 40900), format!("apply.id {FLIGHT_ID} already received with different content"));
    // A wrong token for a stored notice changes nothing either.
    let a = post_bytes(&notify_url(&base, "not-the-demo-token-at-all"), Some(CT), replace(&hotel, "行程变更", "其他")).await;
    refusal(&a, 401, 40100);

    // V2: content type; V3: size; V4: UTF-8 and JSON; V5: a missing field. Each names the problem.
    let new_notice = replace(&flight, FLIGHT_ID, "900000000000001");
    for (ct, needle) in [
        (Some("text/plain"), "text/plain"),
        (Some("application/x-www-form-urlencoded"), "unsupported media type"),
        (Some("application/json; charset=gbk"), "charset"),
        (None, "missing"),
    ] {
        let a = post_bytes(&url, ct, new_notice.clone()).await;
        let msg = refusal(&a, 415, 41500);
        assert!(msg.starts_with("Content-Type: ") && msg.contains(needle), "{ct:?}: {msg}");
    }
    let mut big = new_notice.clone();
    let pad = format!(r#"{{"padding":"{}","#, "x".repeat(300 * 1024));
    big.splice(0..1, pad.bytes());
    let a = post_bytes(&url, Some(CT), big).await;
    assert_eq!(refusal(&a, 413, 41300), "body exceeds 262144 bytes");
    let mut not_utf8 = new_notice.clone();
    let at = not_utf8.windows(3).position(|w| w == "孔".as_bytes()).unwrap();
    not_utf8[at] = 0xFF;
    let a = post_bytes(&url, Some(CT), not_utf8).await;
    let msg = refusal(&a, 400, 40000);
    assert!(msg.contains("invalid UTF-8"), "{msg}");
    let a = post_bytes(&url, Some(CT), br#"{"apply_type":"1","#.to_vec()).await;
    let msg = refusal(&a, 400, 40000);
    assert!(msg.starts_with("malformed JSON at line 1 column"), "{msg}");
    let a = post_bytes(&url, Some(CT), replace(&new_notice, r#""id": "900000000000001","#, "")).await;
    assert_eq!(refusal(&a, 400, 40001), "apply.id: missing required field");

    // The domain holds exactly the three accepted notices, for the demo company, with their
    // raw bodies byte for byte.
    let pending = |id: &str| (id.to_string(), "demo".to_string(), NoticeStatus::Pending);
    let mut expected = vec![pending(FLIGHT_ID), pending(HOTEL_ID), pending(TRAIN_ID)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(stored(&local).await, expected);
    for (id, body) in [(FLIGHT_ID, &flight), (HOTEL_ID, &hotel), (TRAIN_ID, &train)] {
        let view = notices::show(local.app.store.as_ref(), id, &notices::NoOrderLookup).await.unwrap().expect("stored");
        assert_eq!(view.raw_body.as_bytes(), body.as_slice(), "{id}");
        assert_eq!(view.record.notice.apply.id, id);
    }
    // A notice refused earlier is accepted afresh once it is right (nothing was kept).
    let a = post_bytes(&url, Some(CT), new_notice).await;
    assert_eq!(answer(&a, 200)["msg"], "success");

    // Approve the flight refund: the decision goes out through the outbox to the fake
    // Fenbeitong API, form-encoded and signed.
    let store = local.app.store.as_ref();
    let fake = local.fake_top.as_ref();
    let decision = notices::decide(store, FLIGHT_ID, true, "", "值班员", chrono::Utc::now()).await.expect("decided");
    local.app.dispatch(std::slice::from_ref(&decision.callback_id)).await;
    let call = wait_for(Duration::from_secs(10), "the approval at the fake Fenbeitong API", move || async move {
        fake.calls().into_iter().find(|c| c.method.starts_with("fenbeitong:") && c.params.get("data").is_some_and(|d| d.contains(FLIGHT_ID)))
    })
    .await;
    assert_eq!(call.method, "fenbeitong:/openapi/func/apply/order/changeAndRefund/notifyApplyAgree");
    let p = &call.params;
    assert_eq!(p.keys().map(String::as_str).collect::<Vec<_>>(), ["access_token", "data", "sign", "timestamp"], "{p:?}");
    assert_eq!(p["access_token"], ACCESS_TOKEN);
    let data: Value = serde_json::from_str(&p["data"]).unwrap();
    assert_eq!(data, json!({"apply_id": FLIGHT_ID, "third_id": FLIGHT_ID}));
    let ts = &p["timestamp"];
    assert!(ts.len() == 13 && ts.bytes().all(|b| b.is_ascii_digit()), "{ts}");
    let ms: i64 = ts.parse().unwrap();
    assert!((chrono::Utc::now().timestamp_millis() - ms).abs() < 60_000, "{ts}");
    let expected_sign = md5_hex(&format!("timestamp={ts}&data={}&sign_key={SIGN_KEY}", p["data"]));
    assert_eq!(p["sign"], expected_sign);
    assert!(p["sign"].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

    // Reject the hotel refund, with a comment (spaces and Chinese survive the form encoding).
    let comment = "不符合 差旅规定 & 请重新提交";
    let decision_h = notices::decide(store, HOTEL_ID, false, comment, "值班员", chrono::Utc::now()).await.expect("decided");
    local.app.dispatch(std::slice::from_ref(&decision_h.callback_id)).await;
    let call = wait_for(Duration::from_secs(10), "the rejection at the fake Fenbeitong API", move || async move {
        fake.calls().into_iter().find(|c| c.method.starts_with("fenbeitong:") && c.params.get("data").is_some_and(|d| d.contains(HOTEL_ID)))
    })
    .await;
    assert_eq!(call.method, "fenbeitong:/openapi/func/apply/common/repulse");
    let p = &call.params;
    let data: Value = serde_json::from_str(&p["data"]).unwrap();
    assert_eq!(data, json!({"apply_id": HOTEL_ID, "category": "9", "comment": comment, "third_id": HOTEL_ID}));
    assert_eq!(p["sign"], md5_hex(&format!("timestamp={}&data={}&sign_key={SIGN_KEY}", p["timestamp"], p["data"])));

    // Both callbacks end delivered, each sent once; the notices record their decisions.
    for id in [&decision.callback_id, &decision_h.callback_id] {
        wait_for(Duration::from_secs(10), "the callback recorded as delivered", move || async move {
            let item = store.get(&Callback::key(id)).await.unwrap()?;
            let cb: Callback = item.decode().unwrap();
            (cb.status == CallbackStatus::Delivered).then_some(())
        })
        .await;
    }
    let sent: Vec<_> = local.fake_top.calls().into_iter().filter(|c| c.method.starts_with("fenbeitong:")).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let statuses = stored(&local).await;
    assert!(statuses.contains(&(FLIGHT_ID.into(), "demo".into(), NoticeStatus::Approved)), "{statuses:?}");
    assert!(statuses.contains(&(HOTEL_ID.into(), "demo".into(), NoticeStatus::Rejected)), "{statuses:?}");
    assert!(statuses.contains(&(TRAIN_ID.into(), "demo".into(), NoticeStatus::Pending)), "{statuses:?}");
    assert!(matches!(
        notices::decide(store, FLIGHT_ID, false, "改主意", "值班员", chrono::Utc::now()).await,
        Err(notices::DecideError::AlreadyDecided { .. })
    ));
    // A redelivery of a decided notice is still a duplicate, and changes nothing.
    let a = post_bytes(&url, Some(CT), flight).await;
    assert_eq!(answer(&a, 200)["msg"], "duplicate ignored");
    assert_eq!(stored(&local).await.len(), 4);
    local.stop();
}
