//! End to end through local mode's real HTTP server: Fliggy's collaboration work-order
//! callback `POST /fliggy/relation` (partners.md "Busgate decisions", §1.6–§1.9, §3.1), signed
//! by the independent Python signer (`tests/tools/qimen_sign.py`), refused in its own
//! envelope when tampered, stale, malformed, not JSON or too large, and the IP-allowlist mode.
//! Every answer is HTTP 200 with a JSON body.

use busgate_cli::local::DEMO_QIMEN_SECRET as SECRET;
use busgate_domain::cases::{self, CaseState};
use busgate_tests::{now_timestamp, post_bytes, python_signed_query, start_local, RawAnswer, JSON};
use chrono::{Duration, Utc};
use serde_json::Value;

const SIGN_FAILURE: &str = r#"{"success":false,"error_info":"sign-check-failure: Illegal request"}"#;
const PATH: &str = "/fliggy/relation";
/// The inbound method name is not published (partners.md §1.2); Busgate does not check it.
const METHOD: &str = "alitrip.serve.workorder.relation.receive";

/// partners.md §3.1 F1.
const F1: &str = r#"{"case_id":"0000000","relation_type":"startRelation","operator":"小二A","order_id":"444444444","category_id":"3333","attributes":"{\"content\":\"请核实退款\"}"}"#;

fn query_at(body: &[u8], timestamp: Option<&str>, content_type: &str) -> String {
    let mut params = vec![("app_key", "12345678"), ("method", METHOD), ("sign_method", "md5")];
    if let Some(ts) = timestamp {
        params.push(("timestamp", ts));
    }
    params.extend([("v", "2.0"), ("format", "json")]);
    python_signed_query(SECRET, body, &params, content_type)
}

fn signed_url(base: &str, body: &[u8]) -> String {
    format!("{base}{PATH}?{}", query_at(body, Some(&now_timestamp()), JSON))
}

/// Every answer: HTTP 200, JSON content type, a JSON object with a boolean `success`.
#[track_caller]
fn checked(a: &RawAnswer) -> Value {
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.content_type, "application/json;charset=utf-8", "{a:?}");
    let v = a.json();
    assert!(v["success"].is_boolean(), "{a:?}");
    v
}

/// Posts a body signed by the Python signer now.
async fn send(base: &str, body: &str) -> (RawAnswer, Value) {
    let a = post_bytes(&signed_url(base, body.as_bytes()), Some(JSON), body.as_bytes().to_vec()).await;
    let v = checked(&a);
    (a, v)
}

/// A success: `{"relation_case_id":…,"success":true}` exactly; returns the id.
#[track_caller]
fn accepted(a: &RawAnswer, v: &Value) -> String {
    assert_eq!(v["success"], true, "{}", a.text);
    let id = v["relation_case_id"].as_str().filter(|s| !s.is_empty()).unwrap_or_else(|| panic!("no relation_case_id: {}", a.text)).to_string();
    assert_eq!(a.text, format!(r#"{{"relation_case_id":"{id}","success":true}}"#));
    id
}

/// A refusal: `{"success":false,"error_info":"<CODE>: …"}` and no case id; returns error_info.
#[track_caller]
fn refused(v: &Value, code: &str) -> String {
    assert_eq!(v["success"], false, "{v}");
    assert!(v.get("relation_case_id").is_none(), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    let info = v["error_info"].as_str().unwrap().to_string();
    assert!(info.starts_with(&format!("{code}: ")) || info == code, "expected {code}: {info}");
    info
}

fn msg(case_id: &str, relation_type: &str, order_id: &str, extra: &str) -> String {
    format!(r#"{{"case_id":"{case_id}","relation_type":"{relation_type}","operator":"小二A","order_id":"{order_id}"{extra}}}"#)
}

async fn case_state(local: &busgate_cli::local::Running, id: &str) -> Option<cases::Case> {
    match cases::show(local.app.store.as_ref(), id).await {
        Ok(d) => Some(d.case),
        Err(cases::CaseError::CaseNotFound(_)) => None,
        Err(e) => panic!("show {id}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independently_signed_callbacks_drive_the_case() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();

    // F1: a new Fliggy-owned case, OPEN, bound to the order.
    let (a, v) = send(&base, F1).await;
    let rcid = accepted(&a, &v);
    let case = case_state(&local, "0000000").await.expect("case stored");
    assert_eq!((case.relation_case_id.as_str(), case.order_id.as_str(), case.state), (rcid.as_str(), "444444444", CaseState::Open));
    // F2: the same bytes again: the same answer, byte for byte; no second case.
    let (again, _) = send(&base, F1).await;
    assert_eq!(again.text, a.text);
    // A re-delivery with other bytes (attributes in another shape): the same relation_case_id.
    for body in [
        msg("0000000", "startRelation", "444444444", r#","attribute_s":"content""#),
        msg("0000000", "startRelation", "444444444", r#","attributes":{"content":"x"},"unknown_field":1"#),
    ] {
        let (a, v) = send(&base, &body).await;
        assert_eq!(accepted(&a, &v), rcid, "{body}");
    }
    // F3: the same case_id for another order.
    let (_, v) = send(&base, &msg("0000000", "startRelation", "555555555", "")).await;
    assert_eq!(refused(&v, "E_CONFLICT"), "E_CONFLICT: case 0000000 already bound to order 444444444");

    // F4: two urges with different attributes: both accepted, counted twice, still OPEN.
    for content in ["催一下", "再催一下"] {
        let (a, v) = send(&base, &msg("0000000", "urgeCase", "444444444", &format!(r#","attributes":{{"content":"{content}"}}"#))).await;
        assert_eq!(accepted(&a, &v), rcid);
    }
    let case = case_state(&local, &rcid).await.unwrap();
    assert_eq!((case.state, case.urges_received), (CaseState::Open, 2));

    // F6: endRelation, then again (the same bytes: replay; other bytes: idempotent), then an
    // urge on the closed case.
    let end = msg("0000000", "endRelation", "444444444", "");
    let (first, v) = send(&base, &end).await;
    assert_eq!(accepted(&first, &v), rcid);
    let (second, v) = send(&base, &end).await;
    assert_eq!(accepted(&second, &v), rcid);
    let (a, v) = send(&base, &msg("0000000", "endRelation", "444444444", r#","attributes":"已处理""#)).await;
    assert_eq!(accepted(&a, &v), rcid);
    assert_eq!(case_state(&local, &rcid).await.unwrap().state, CaseState::Closed);
    let (_, v) = send(&base, &msg("0000000", "urgeCase", "444444444", "")).await;
    assert_eq!(refused(&v, "E_CASE_CLOSED"), "E_CASE_CLOSED: case 0000000 is closed");
    let (_, v) = send(&base, &msg("0000000", "startRelation", "444444444", r#","attributes":"重开""#)).await;
    refused(&v, "E_CASE_CLOSED");
    assert_eq!(case_state(&local, &rcid).await.unwrap().state, CaseState::Closed);

    // F5: an urge for a case never started.
    let (_, v) = send(&base, &msg("9999999", "urgeCase", "444444444", "")).await;
    assert_eq!(refused(&v, "E_CASE_NOT_FOUND"), "E_CASE_NOT_FOUND: case 9999999");
    let (_, v) = send(&base, &msg("9999999", "endRelation", "444444444", "")).await;
    refused(&v, "E_CASE_NOT_FOUND");
    assert!(case_state(&local, "9999999").await.is_none());
    // F7: notify-only, then an urge on it.
    let (a, v) = send(&base, &msg("7777777", "notify", "444444444", "")).await;
    let notified = accepted(&a, &v);
    assert_ne!(notified, rcid);
    let (_, v) = send(&base, &msg("7777777", "urgeCase", "444444444", "")).await;
    assert_eq!(refused(&v, "E_INVALID_TRANSITION"), "E_INVALID_TRANSITION: urgeCase not allowed on notify-only case");
    assert_eq!(case_state(&local, "7777777").await.unwrap().state, CaseState::Notified);
    // F10: a result from Fliggy on a Fliggy-owned case: wrong direction.
    let (a, v) = send(&base, &msg("1111111", "startRelation", "444444444", "")).await;
    accepted(&a, &v);
    let (_, v) = send(&base, &msg("1111111", "result", "444444444", "")).await;
    refused(&v, "E_DIRECTION");
    assert_eq!(case_state(&local, "1111111").await.unwrap().state, CaseState::Open);
    // F8, F9, F14: validation.
    let (_, v) = send(&base, r#"{"case_id":"2222222","relation_type":"startRelation","operator":"小二A"}"#).await;
    assert_eq!(refused(&v, "E_MISSING_FIELD"), "E_MISSING_FIELD: order_id");
    let (_, v) = send(&base, &msg("2222222", "closeCase", "444444444", "")).await;
    assert!(refused(&v, "E_INVALID_ENUM").contains(r#"relation_type "closeCase""#), "{v}");
    let (_, v) = send(&base, &msg("2222222", "startRelation", "444444444", r#","attributes":123"#)).await;
    assert_eq!(refused(&v, "E_INVALID_FORMAT"), "E_INVALID_FORMAT: attributes must be a string or object");
    let (_, v) = send(&base, r#"{"case_id":2222222,"relation_type":"startRelation","operator":"小二A","order_id":"444444444"}"#).await;
    refused(&v, "E_INVALID_FORMAT");
    assert!(case_state(&local, "2222222").await.is_none(), "refusals store nothing");
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_stale_malformed_non_json_and_oversize_callbacks_are_refused() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let body = F1.as_bytes().to_vec();
    let url = signed_url(&base, &body);

    // One byte of the body changed (小二A → 小二B), or of the query, or the sign lower-cased,
    // or no sign at all: the exact sign-failure body.
    let mut tampered = body.clone();
    let i = F1.find("小二A").unwrap() + "小二".len();
    tampered[i] = b'B';
    let (head, sign) = url.rsplit_once("sign=").unwrap();
    for (u, b) in [
        (url.clone(), tampered),
        (url.replacen("app_key=12345678", "app_key=12345679", 1), body.clone()),
        (format!("{head}sign={}", sign.to_lowercase()), body.clone()),
        (head.trim_end_matches('&').to_string(), body.clone()),
        (format!("{base}{PATH}"), body.clone()),
    ] {
        let a = post_bytes(&u, Some(JSON), b).await;
        checked(&a);
        assert_eq!(a.text, SIGN_FAILURE, "{u}");
    }
    // A content type the official verifier refuses is a signature failure too.
    let a = post_bytes(&url, Some("multipart/form-data; boundary=x"), body.clone()).await;
    assert_eq!((a.status, a.text.as_str()), (200, SIGN_FAILURE));

    // Stale (the window is 300 s) or missing timestamp, correctly signed: E_TIMESTAMP.
    let stale = busgate_signing::format_timestamp(Utc::now() - Duration::seconds(301));
    for ts in [Some(stale.as_str()), None, Some("yesterday")] {
        let u = format!("{base}{PATH}?{}", query_at(&body, ts, JSON));
        let a = post_bytes(&u, Some(JSON), body.clone()).await;
        refused(&checked(&a), "E_TIMESTAMP");
    }
    // Malformed JSON, signed: E_MALFORMED_JSON with its position.
    for bad in [r#"{"case_id":"1","#, "not json", r#"["startRelation"]"#, ""] {
        let a = post_bytes(&signed_url(&base, bad.as_bytes()), Some(JSON), bad.as_bytes().to_vec()).await;
        let info = refused(&checked(&a), "E_MALFORMED_JSON");
        assert!(info.len() > "E_MALFORMED_JSON: ".len(), "{info}");
    }
    let bad = r#"{"case_id":"1","#;
    let a = post_bytes(&signed_url(&base, bad.as_bytes()), Some(JSON), bad.as_bytes().to_vec()).await;
    assert!(refused(&checked(&a), "E_MALFORMED_JSON").contains("line 1 column"), "{}", a.text);
    // A signed body that is not JSON: E_MEDIA_TYPE naming the type.
    for ct in ["text/plain", "text/plain;charset=utf-8", "text/xml"] {
        let u = format!("{base}{PATH}?{}", query_at(&body, Some(&now_timestamp()), ct));
        let a = post_bytes(&u, Some(ct), body.clone()).await;
        let info = refused(&checked(&a), "E_MEDIA_TYPE");
        assert_eq!(info, format!("E_MEDIA_TYPE: content type \"{ct}\" is not JSON"));
    }
    // Over 64 KiB, signed (a valid message with a long unknown field): E_TOO_LARGE, not parsed.
    let big = F1.replacen('{', &format!(r#"{{"padding":"{}","#, "x".repeat(70 * 1024)), 1);
    let a = post_bytes(&signed_url(&base, big.as_bytes()), Some(JSON), big.clone().into_bytes()).await;
    assert_eq!(refused(&checked(&a), "E_TOO_LARGE"), "E_TOO_LARGE: body exceeds 65536 bytes");
    // …and unsigned: the size is checked first.
    let a = post_bytes(&format!("{base}{PATH}"), Some(JSON), big.into_bytes()).await;
    refused(&checked(&a), "E_TOO_LARGE");

    // None of that stored anything: the case starts now, fresh.
    assert!(case_state(&local, "0000000").await.is_none());
    let (a, v) = send(&base, F1).await;
    let rcid = accepted(&a, &v);
    let detail = cases::show(local.app.store.as_ref(), &rcid).await.unwrap();
    assert_eq!(detail.history.len(), 1, "{:?}", detail.history);
    // The bus timestamp rules: epoch milliseconds are accepted, and a future timestamp passes.
    let ms = Utc::now().timestamp_millis().to_string();
    let future = busgate_signing::format_timestamp(Utc::now() + Duration::hours(1));
    for (case_id, ts) in [("4444444", ms.as_str()), ("5555555", future.as_str())] {
        let b = msg(case_id, "notify", "444444444", "");
        let a = post_bytes(&format!("{base}{PATH}?{}", query_at(b.as_bytes(), Some(ts), JSON)), Some(JSON), b.into_bytes()).await;
        accepted(&a, &checked(&a));
    }
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_allowlist_mode_accepts_unsigned_callbacks_from_listed_addresses_only() {
    let allow = [("BUSGATE_RELATION_AUTH", "ip-allowlist"), ("BUSGATE_RELATION_IP_ALLOWLIST", "10.0.0.7, 127.0.0.1")];
    let (local, _dir) = start_local(&allow).await;
    let base = local.base_url();
    let unsigned = format!("{base}{PATH}");

    let a = post_bytes(&unsigned, Some(JSON), F1.as_bytes().to_vec()).await;
    let rcid = accepted(&a, &checked(&a));
    // Signed or not, from 127.0.0.1: the same case.
    let (a, v) = send(&base, &msg("0000000", "urgeCase", "444444444", "")).await;
    assert_eq!(accepted(&a, &v), rcid);
    // The body rules still apply.
    let a = post_bytes(&unsigned, Some(JSON), br#"{"case_id":"1","#.to_vec()).await;
    refused(&checked(&a), "E_MALFORMED_JSON");
    let a = post_bytes(&unsigned, Some("text/plain"), F1.as_bytes().to_vec()).await;
    refused(&checked(&a), "E_MEDIA_TYPE");
    let a = post_bytes(&unsigned, None, F1.as_bytes().to_vec()).await;
    assert_eq!(refused(&checked(&a), "E_MEDIA_TYPE"), "E_MEDIA_TYPE: content type missing");
    local.stop();

    // An allowlist without 127.0.0.1: refused like a bad signature, even when signed.
    let (local, _dir2) = start_local(&[("BUSGATE_RELATION_AUTH", "ip-allowlist"), ("BUSGATE_RELATION_IP_ALLOWLIST", "10.0.0.7")]).await;
    let base = local.base_url();
    let a = post_bytes(&format!("{base}{PATH}"), Some(JSON), F1.as_bytes().to_vec()).await;
    assert_eq!((checked(&a), a.text.as_str()).1, SIGN_FAILURE);
    let (a, _) = send(&base, F1).await;
    assert_eq!(a.text, SIGN_FAILURE);
    assert!(case_state(&local, "0000000").await.is_none());
    local.stop();
}

/// Waits until `check` holds for the case `id` (the delivery worker runs in-process).
async fn wait_case(local: &busgate_cli::local::Running, id: &str, what: &str, check: impl Fn(&cases::Case) -> bool) -> cases::Case {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(c) = case_state(local, id).await {
            if check(&c) {
                return c;
            }
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what} on {id}: {:?}", case_state(local, id).await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The relation calls the fake TOP gateway received, as (params, parsed request).
fn relation_calls(local: &busgate_cli::local::Running) -> Vec<(std::collections::BTreeMap<String, String>, Value)> {
    local
        .fake_top
        .calls()
        .into_iter()
        .filter(|c| c.method == busgate_wire::relation::RELATION_METHOD)
        .map(|c| {
            let req: Value = serde_json::from_str(&c.params[busgate_wire::relation::REQUEST_PARAM]).unwrap();
            assert!(c.signature_ok, "{c:?}");
            (c.params, req)
        })
        .collect()
}

/// The Busgate decisions' corner cases, with our own messages going out through the outbox
/// to the fake TOP gateway: a refused message is evaluated again when it comes again; in
/// SENT_BACK, urges are accepted and a start reopens the case with the same id; Fliggy's
/// sendBack on a case we opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_not_remembered_and_sent_back_cases_reopen() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let store = local.app.store.as_ref();

    // An urge that arrives before its start is refused, and accepted when it comes again.
    let urge = msg("3333333", "urgeCase", "444444444", r#","attributes":"快点""#);
    let (_, v) = send(&base, &urge).await;
    refused(&v, "E_CASE_NOT_FOUND");
    let (a, v) = send(&base, &msg("3333333", "startRelation", "444444444", "")).await;
    let rcid = accepted(&a, &v);
    let (a, v) = send(&base, &urge).await;
    assert_eq!(accepted(&a, &v), rcid);

    // We send it back; the state moves once Fliggy (the fake TOP) accepts.
    let receipt = cases::send(store, &rcid, cases::SendKind::SendBack, "信息不全,请补充", "客服小王", Utc::now()).await.expect("send back");
    assert_eq!(receipt.state, CaseState::Open);
    local.app.dispatch(&[receipt.callback_id.clone().expect("a callback")]).await;
    wait_case(&local, &rcid, "SENT_BACK", |c| c.state == CaseState::SentBack).await;
    let calls = relation_calls(&local);
    assert_eq!(calls.len(), 1);
    let (params, req) = &calls[0];
    assert_eq!(req["relation_type"], "sendBack");
    assert_eq!(
        (req["case_id"].as_str(), req["relation_case_id"].as_str(), req["order_id"].as_str()),
        (Some("3333333"), Some(rcid.as_str()), Some("444444444"))
    );
    assert_eq!(req["unique_id"].as_str(), receipt.unique_id.as_deref());
    // caller_info is completed from the configuration at send time.
    let caller: Value = serde_json::from_str(&params[busgate_wire::relation::CALLER_INFO_PARAM]).unwrap();
    assert_eq!(caller, serde_json::json!({"app_name": "busgate-demo", "app_secret": "demo-relation-secret"}));

    // In SENT_BACK: an urge is accepted; a start (not a byte-identical replay) reopens the
    // case with the same relation_case_id.
    let (a, v) = send(&base, &msg("3333333", "urgeCase", "444444444", r#","attributes":"为什么退回""#)).await;
    assert_eq!(accepted(&a, &v), rcid);
    assert_eq!(case_state(&local, &rcid).await.unwrap().state, CaseState::SentBack);
    let (a, v) = send(&base, &msg("3333333", "startRelation", "444444444", r#","attributes":"已补充""#)).await;
    assert_eq!(accepted(&a, &v), rcid);
    assert_eq!(case_state(&local, &rcid).await.unwrap().state, CaseState::Open);

    // A case we open: Fliggy's case_id comes back in the answer; then Fliggy sends it back.
    let receipt = cases::open(store, "666666666", "请协助改签", "客服小王", Utc::now()).await.expect("open");
    let ours = receipt.relation_case_id.clone();
    local.app.dispatch(&[receipt.callback_id.clone().expect("a callback")]).await;
    let case = wait_case(&local, &ours, "OPEN with Fliggy's case_id", |c| c.state == CaseState::Open && c.case_id.is_some()).await;
    let fliggy_case = case.case_id.unwrap();
    let back = format!(
        r#"{{"case_id":"{fliggy_case}","relation_case_id":"{ours}","relation_type":"sendBack","operator":"飞猪小二","order_id":"666666666"}}"#
    );
    let (a, v) = send(&base, &back).await;
    assert_eq!(accepted(&a, &v), ours);
    assert_eq!(case_state(&local, &ours).await.unwrap().state, CaseState::SentBack);
    // Fliggy may not urge a case we opened.
    let (_, v) = send(&base, &msg(&fliggy_case, "urgeCase", "666666666", "")).await;
    refused(&v, "E_DIRECTION");
    local.stop();
}
