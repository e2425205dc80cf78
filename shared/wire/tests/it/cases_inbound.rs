//! Collaboration work orders, inbound: partners.md §3.1 F1–F14, validation (§1.9), replay
//! safety (§1.7 as amended), the state machine of Fliggy-opened cases (§1.6).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::cases_support::cases::{machine, Actor, CaseError, CaseState, EntryKind, Owner, RelationConfig, RelationType, SendKind};
use crate::cases_support::{cases, Info};
use async_trait::async_trait;
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::{Item, Key, Store, StoreError, Write};
use busgate_wire::relation::{parse_inbound, RelationAnswer};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap()
}

/// The F1 message, with another `relation_type`.
fn msg(relation_type: &str) -> Value {
    json!({
        "case_id": "0000000",
        "relation_type": relation_type,
        "operator": "小二A",
        "order_id": "444444444",
        "category_id": "3333",
        "attributes": "{\"content\":\"请核实退款\"}"
    })
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

fn without(mut v: Value, k: &str) -> Value {
    v.as_object_mut().unwrap().remove(k);
    v
}

async fn send_at(store: &dyn Store, v: &Value, at: DateTime<Utc>) -> RelationAnswer {
    cases::receive(store, v.to_string().as_bytes(), at).await
}

async fn send(store: &dyn Store, v: &Value) -> RelationAnswer {
    send_at(store, v, now()).await
}

fn err(a: &RelationAnswer) -> &str {
    assert!(!a.success, "expected a refusal, got {a:?}");
    assert!(a.relation_case_id.is_none());
    a.error_info.as_deref().unwrap()
}

fn ok(a: &RelationAnswer) -> String {
    assert!(a.success, "expected success, got {a:?}");
    assert!(a.error_info.is_none());
    assert!(!a.internal_error);
    a.relation_case_id.clone().unwrap()
}

async fn state(store: &dyn Store, id: &str) -> CaseState {
    cases::show(store, id).await.unwrap().case.state
}

async fn history_len(store: &dyn Store, id: &str) -> usize {
    cases::show(store, id).await.unwrap().history.len()
}

// ---------------------------------------------------------------- §3.1

#[tokio::test]
async fn f1_start_opens_a_case_bound_to_the_order() {
    let store = MemoryStore::new();
    let a = send(&store, &msg("startRelation")).await;
    let rcid = ok(&a);
    assert!(rcid.starts_with("R2024050110"), "{rcid}");
    let d = cases::show(&store, "0000000").await.unwrap();
    assert_eq!(d.case.relation_case_id, rcid);
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.case.owner, Owner::Fliggy);
    assert_eq!(d.case.order_id, "444444444");
    assert_eq!(d.case.case_id.as_deref(), Some("0000000"));
    assert_eq!(d.case.category_id.as_deref(), Some("3333"));
    assert_eq!(d.case.opened_by, "小二A");
    assert_eq!(d.case.attributes.as_ref().unwrap().content(), Some("请核实退款"));
    // History: the inbound message with time and operator.
    assert_eq!(d.history.len(), 1);
    let h = &d.history[0];
    assert_eq!((h.kind, h.relation_type, h.operator.as_str(), h.at), (EntryKind::Inbound, RelationType::StartRelation, "小二A", now()));
    assert_eq!((h.state_before, h.state_after), (CaseState::Open, CaseState::Open));
    assert!(h.raw.as_deref().unwrap().contains("请核实退款"));
    // Bound to the order: the order index finds it.
    let by_order = cases::list(&store, true, Some("444444444")).await.unwrap();
    assert_eq!(by_order.len(), 1);
    assert_eq!(by_order[0].relation_case_id, rcid);
    // And by our own id.
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.case_id.as_deref(), Some("0000000"));
}

#[tokio::test]
async fn f2_byte_identical_redelivery_returns_the_same_answer_and_no_second_case() {
    let store = MemoryStore::new();
    let body = msg("startRelation").to_string();
    let a = cases::receive(&store, body.as_bytes(), now()).await;
    let b = cases::receive(&store, body.as_bytes(), now() + Duration::minutes(5)).await;
    assert_eq!(a, b);
    ok(&b);
    assert_eq!(cases::list(&store, false, Some("444444444")).await.unwrap().len(), 1);
    assert_eq!(cases::list(&store, false, None).await.unwrap().len(), 1);
    // A replay changes nothing, not even the history.
    assert_eq!(history_len(&store, "0000000").await, 1);
}

#[tokio::test]
async fn f2_redelivery_with_another_body_or_after_the_ttl_keeps_the_relation_case_id() {
    let store = MemoryStore::new();
    let first = ok(&send(&store, &msg("startRelation")).await);
    // Same key fields, different operator: not a byte replay, but start is unique per case_id.
    let again = ok(&send(&store, &with(msg("startRelation"), "operator", json!("小二B"))).await);
    assert_eq!(first, again);
    // Byte-identical after the TTL: evaluated again, same id.
    let late = ok(&send_at(&store, &msg("startRelation"), now() + Duration::hours(25)).await);
    assert_eq!(first, late);
    assert_eq!(state(&store, "0000000").await, CaseState::Open);
    assert_eq!(cases::list(&store, false, None).await.unwrap().len(), 1);
    assert_eq!(history_len(&store, "0000000").await, 3);
}

#[tokio::test]
async fn f3_start_with_another_order_is_a_conflict() {
    let store = MemoryStore::new();
    ok(&send(&store, &msg("startRelation")).await);
    let a = send(&store, &with(msg("startRelation"), "order_id", json!("555555555"))).await;
    assert_eq!(err(&a), "E_CONFLICT: case 0000000 already bound to order 444444444");
    assert_eq!(history_len(&store, "0000000").await, 1);
    assert!(cases::list(&store, false, Some("555555555")).await.unwrap().is_empty());
}

#[tokio::test]
async fn f4_two_urges_with_different_attributes_count_twice() {
    let store = MemoryStore::new();
    ok(&send(&store, &msg("startRelation")).await);
    ok(&send(&store, &with(msg("urgeCase"), "attributes", json!("{\"content\":\"第一次\"}"))).await);
    ok(&send(&store, &with(msg("urgeCase"), "attributes", json!("{\"content\":\"第二次\"}"))).await);
    let d = cases::show(&store, "0000000").await.unwrap();
    assert_eq!(d.case.urges_received, 2);
    assert_eq!(d.case.last_urged_at, Some(now()));
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.history.len(), 3);
}

#[tokio::test]
async fn urges_with_the_same_body_count_once_inside_the_ttl_and_twice_after() {
    let store = MemoryStore::new();
    ok(&send(&store, &msg("startRelation")).await);
    let urge = msg("urgeCase");
    ok(&send(&store, &urge).await);
    ok(&send_at(&store, &urge, now() + Duration::hours(23)).await);
    assert_eq!(cases::show(&store, "0000000").await.unwrap().case.urges_received, 1);
    // Key order and whitespace do not make a new message (canonical JSON).
    let reordered = format!(
        "{{ \"order_id\":\"444444444\", \"relation_type\":\"urgeCase\",\"case_id\":\"0000000\",\"operator\":\"小二A\",\"category_id\":\"3333\",\"attributes\":{} }}",
        Value::String("{\"content\":\"请核实退款\"}".into())
    );
    ok(&cases::receive(&store, reordered.as_bytes(), now() + Duration::hours(1)).await);
    assert_eq!(cases::show(&store, "0000000").await.unwrap().case.urges_received, 1);
    ok(&send_at(&store, &urge, now() + Duration::hours(24) + Duration::seconds(1)).await);
    assert_eq!(cases::show(&store, "0000000").await.unwrap().case.urges_received, 2);
}

#[tokio::test]
async fn f5_urge_for_an_unknown_case() {
    let store = MemoryStore::new();
    let a = send(&store, &with(msg("urgeCase"), "case_id", json!("9999999"))).await;
    assert_eq!(err(&a), "E_CASE_NOT_FOUND: case 9999999");
    let a = send(&store, &with(msg("endRelation"), "case_id", json!("9999999"))).await;
    assert_eq!(err(&a), "E_CASE_NOT_FOUND: case 9999999");
    assert!(cases::list(&store, false, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn f6_end_then_end_again_then_urge() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    let e1 = send(&store, &msg("endRelation")).await;
    assert_eq!(ok(&e1), rcid);
    let e2 = send(&store, &msg("endRelation")).await;
    assert_eq!(e1, e2);
    // A repeated end that is not a byte replay succeeds too.
    assert_eq!(ok(&send(&store, &with(msg("endRelation"), "operator", json!("小二C"))).await), rcid);
    let u = send(&store, &msg("urgeCase")).await;
    assert_eq!(err(&u), "E_CASE_CLOSED: case 0000000 is closed");
    let d = cases::show(&store, "0000000").await.unwrap();
    assert_eq!(d.case.state, CaseState::Closed);
    assert_eq!(d.case.urges_received, 0);
    assert_eq!(d.history.len(), 3);
    assert!(cases::list(&store, true, None).await.unwrap().is_empty());
    assert_eq!(cases::list(&store, false, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn f7_notify_then_urge() {
    let store = MemoryStore::new();
    let n = with(msg("notify"), "case_id", json!("7777777"));
    let rcid = ok(&send(&store, &n).await);
    assert_eq!(state(&store, "7777777").await, CaseState::Notified);
    let u = send(&store, &with(msg("urgeCase"), "case_id", json!("7777777"))).await;
    assert_eq!(err(&u), "E_INVALID_TRANSITION: urgeCase not allowed on notify-only case");
    // notify again: same relation_case_id.
    assert_eq!(ok(&send(&store, &with(n.clone(), "operator", json!("小二Z"))).await), rcid);
    // notify · endRelation
    ok(&send(&store, &with(msg("endRelation"), "case_id", json!("7777777"))).await);
    assert_eq!(state(&store, "7777777").await, CaseState::Closed);
}

#[tokio::test]
async fn f8_missing_order_id() {
    let store = MemoryStore::new();
    let a = send(&store, &without(msg("startRelation"), "order_id")).await;
    assert_eq!(err(&a), "E_MISSING_FIELD: order_id");
    let a = send(&store, &with(msg("startRelation"), "case_id", json!("   "))).await;
    assert_eq!(err(&a), "E_MISSING_FIELD: case_id");
    let a = send(&store, &with(without(msg("startRelation"), "operator"), "order_id", Value::Null)).await;
    assert_eq!(err(&a), "E_MISSING_FIELD: operator, order_id");
    assert!(cases::list(&store, false, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn f9_unknown_relation_type() {
    let store = MemoryStore::new();
    let a = send(&store, &msg("closeCase")).await;
    assert_eq!(
        err(&a),
        "E_INVALID_ENUM: relation_type \"closeCase\" (allowed: startRelation, notify, urgeCase, endRelation, result, sendBack, reply)"
    );
    // Case-sensitive.
    let a = send(&store, &msg("StartRelation")).await;
    assert!(err(&a).starts_with("E_INVALID_ENUM: relation_type \"StartRelation\""));
}

#[tokio::test]
async fn f10_result_or_send_back_on_a_fliggy_case_is_the_wrong_direction() {
    let store = MemoryStore::new();
    ok(&send(&store, &msg("startRelation")).await);
    let a = send(&store, &msg("result")).await;
    assert_eq!(err(&a), "E_DIRECTION: result for a Fliggy-initiated case must come from the supplier");
    let a = send(&store, &msg("sendBack")).await;
    assert_eq!(err(&a), "E_DIRECTION: sendBack for a Fliggy-initiated case must come from the supplier");
    assert_eq!(state(&store, "0000000").await, CaseState::Open);
    assert_eq!(history_len(&store, "0000000").await, 1);
}

#[tokio::test]
async fn f11_truncated_body_is_malformed_json_with_its_position() {
    let store = MemoryStore::new();
    let a = cases::receive(&store, br#"{"case_id":"1","#, now()).await;
    assert_eq!(err(&a), "E_MALFORMED_JSON: unexpected end of input at line 1 column 15");
    assert!(!a.internal_error);
    let a = cases::receive(&store, b"[1,2]", now()).await;
    assert_eq!(err(&a), "E_MALFORMED_JSON: the body must be a JSON object");
    let a = cases::receive(&store, b"{\"a\":1}\n{", now()).await;
    assert_eq!(err(&a), "E_MALFORMED_JSON: trailing characters at line 2 column 1");
    // A repeated key: which of the two values was meant? Refused, named, nothing stored.
    let a = cases::receive(&store, "{\"case_id\":\"1\",\n\"case_id\":\"2\"}".as_bytes(), now()).await;
    assert_eq!(err(&a), "E_MALFORMED_JSON: case_id: duplicate key (line 2)");
    assert!(cases::list(&store, false, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn f12_body_over_64_kib_is_refused_unparsed() {
    let store = MemoryStore::new();
    // Not even JSON: the size is checked before parsing.
    let body = vec![b'{'; 70 * 1024];
    let a = cases::receive(&store, &body, now()).await;
    assert_eq!(err(&a), "E_TOO_LARGE: body exceeds 65536 bytes");
    // A valid message padded with an unknown field past the limit.
    let big = with(msg("startRelation"), "padding", json!("x".repeat(70 * 1024)));
    assert!(err(&send(&store, &big).await).starts_with("E_TOO_LARGE"));
    assert!(cases::list(&store, false, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn f14_attributes_in_every_shape() {
    let store = MemoryStore::new();
    let variants = [
        (without(with(msg("startRelation"), "attribute_s", json!("content")), "attributes"), "content", true),
        (with(msg("startRelation"), "attributes", json!({"content": "x"})), "x", false),
        (with(msg("startRelation"), "attributes", json!("{\"content\":\"x\"}")), "x", false),
    ];
    for (i, (v, content, plain)) in variants.into_iter().enumerate() {
        let v = with(v, "case_id", json!(format!("14{i}")));
        ok(&send(&store, &v).await);
        let d = cases::show(&store, &format!("14{i}")).await.unwrap();
        let attrs = d.case.attributes.unwrap();
        assert_eq!(attrs.content(), Some(content));
        assert_eq!(attrs.text.is_some(), plain);
        assert_eq!(attrs.object.is_some(), !plain);
    }
    let a = send(&store, &with(with(msg("startRelation"), "case_id", json!("143")), "attributes", json!(123))).await;
    assert_eq!(err(&a), "E_INVALID_FORMAT: attributes must be a string or object");
    let a = send(&store, &with(with(msg("startRelation"), "case_id", json!("144")), "attributes", json!(["a"]))).await;
    assert_eq!(err(&a), "E_INVALID_FORMAT: attributes must be a string or object");
    let a = send(&store, &without(with(msg("startRelation"), "attribute_s", json!(true)), "attributes")).await;
    assert_eq!(err(&a), "E_INVALID_FORMAT: attribute_s must be a string or object");
    assert!(cases::show(&store, "143").await.is_err());
}

#[test]
fn attributes_raw_and_parsed_are_both_kept() {
    let cfg = RelationConfig::default();
    let m = parse_inbound(with(msg("startRelation"), "attributes", json!({"content": "x", "k": 1})).to_string().as_bytes(), &cfg).unwrap();
    let a = m.attributes.unwrap();
    assert_eq!(a.field, "attributes");
    assert_eq!(a.object.unwrap()["k"], json!(1));
    assert!(a.raw.contains("\"k\":1"));
    // A string that is JSON but not an object is plain text.
    let m = parse_inbound(with(msg("startRelation"), "attributes", json!("123")).to_string().as_bytes(), &cfg).unwrap();
    assert_eq!(m.attributes.unwrap().text.as_deref(), Some("123"));
    // Both spellings: equal is fine (even in different shapes), different is refused.
    let both = with(with(msg("startRelation"), "attributes", json!({"content": "x"})), "attribute_s", json!("{\"content\":\"x\"}"));
    assert!(parse_inbound(both.to_string().as_bytes(), &cfg).is_ok());
    let both = with(msg("startRelation"), "attribute_s", json!("other"));
    assert_eq!(parse_inbound(both.to_string().as_bytes(), &cfg).unwrap_err().info(), "E_INVALID_FORMAT: attributes and attribute_s disagree");
    // Empty and null are absent.
    let m = parse_inbound(with(msg("startRelation"), "attributes", json!("")).to_string().as_bytes(), &cfg).unwrap();
    assert!(m.attributes.is_none());
    let m = parse_inbound(with(msg("startRelation"), "attributes", Value::Null).to_string().as_bytes(), &cfg).unwrap();
    assert!(m.attributes.is_none());
    // Over 16 KiB.
    let big = with(msg("startRelation"), "attributes", json!("y".repeat(16 * 1024 + 1)));
    assert_eq!(parse_inbound(big.to_string().as_bytes(), &cfg).unwrap_err().info(), "E_INVALID_FORMAT: attributes longer than 16384 bytes");
}

// ---------------------------------------------------------------- §1.9 validation

#[test]
fn ids_must_be_strings_within_limits() {
    let cfg = RelationConfig::default();
    let p = |v: Value| parse_inbound(v.to_string().as_bytes(), &cfg).map_err(|e| e.info());
    assert_eq!(
        p(with(msg("startRelation"), "case_id", json!(12345678901234567u64))).unwrap_err(),
        "E_INVALID_FORMAT: case_id must be a string (got number)"
    );
    assert_eq!(p(with(msg("startRelation"), "order_id", json!(444444444))).unwrap_err(), "E_INVALID_FORMAT: order_id must be a string (got number)");
    assert_eq!(
        p(with(msg("startRelation"), "relation_case_id", json!(1))).unwrap_err(),
        "E_INVALID_FORMAT: relation_case_id must be a string (got number)"
    );
    assert_eq!(p(with(msg("startRelation"), "category_id", json!({}))).unwrap_err(), "E_INVALID_FORMAT: category_id must be a string (got object)");
    assert_eq!(p(with(msg("startRelation"), "case_id", json!("9".repeat(65)))).unwrap_err(), "E_INVALID_FORMAT: case_id longer than 64 characters");
    assert_eq!(
        p(with(msg("startRelation"), "operator", json!("名".repeat(65)))).unwrap_err(),
        "E_INVALID_FORMAT: operator longer than 64 characters"
    );
    assert!(p(with(msg("startRelation"), "operator", json!("名".repeat(64)))).is_ok());
    assert_eq!(
        p(with(msg("startRelation"), "order_id", json!("4444444 44"))).unwrap_err(),
        "E_INVALID_FORMAT: order_id must be 1 to 32 digits (got \"4444444 44\")"
    );
    assert!(p(with(msg("startRelation"), "order_id", json!("3".repeat(33)))).is_err());
    // Trimmed.
    let m = p(with(msg("startRelation"), "order_id", json!("  444444444 "))).unwrap();
    assert_eq!(m.order_id, "444444444");
    // The numeric switch.
    let lax = RelationConfig { numeric_order_id: false, ..RelationConfig::default() };
    assert!(parse_inbound(with(msg("startRelation"), "order_id", json!("A-1")).to_string().as_bytes(), &lax).is_ok());
}

#[test]
fn empty_category_is_absent_and_unknown_fields_are_accepted() {
    let cfg = RelationConfig::default();
    let v = with(with(msg("startRelation"), "category_id", json!("")), "new_field", json!({"a": 1}));
    let m = parse_inbound(v.to_string().as_bytes(), &cfg).unwrap();
    assert_eq!(m.category_id, None);
    assert_eq!(m.unknown_fields, vec!["new_field".to_string()]);
    assert_eq!(m.relation_type, RelationType::StartRelation);
}

#[tokio::test]
async fn unknown_fields_are_kept_in_the_history() {
    let store = MemoryStore::new();
    ok(&send(&store, &with(msg("startRelation"), "xp_extra", json!("1"))).await);
    let d = cases::show(&store, "0000000").await.unwrap();
    assert_eq!(d.history[0].unknown_fields, vec!["xp_extra".to_string()]);
}

// ---------------------------------------------------------------- replay safety

#[tokio::test]
async fn a_refused_message_is_evaluated_again_when_it_comes_again() {
    let store = MemoryStore::new();
    let urge = msg("urgeCase");
    assert_eq!(err(&send(&store, &urge).await), "E_CASE_NOT_FOUND: case 0000000");
    ok(&send(&store, &msg("startRelation")).await);
    ok(&send(&store, &urge).await);
    assert_eq!(cases::show(&store, "0000000").await.unwrap().case.urges_received, 1);
}

#[tokio::test]
async fn sent_back_case_is_reopened_by_a_new_start_with_the_same_relation_case_id() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    let r = cases::send(&store, &rcid, SendKind::SendBack, "信息不全", "op1", now()).await.unwrap();
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    assert_eq!(state(&store, &rcid).await, CaseState::SentBack);
    // Urges are accepted in SENT_BACK.
    ok(&send(&store, &msg("urgeCase")).await);
    assert_eq!(state(&store, &rcid).await, CaseState::SentBack);
    // The original start, byte-identical inside the TTL: a replay, nothing reopens.
    assert_eq!(ok(&send(&store, &msg("startRelation")).await), rcid);
    assert_eq!(state(&store, &rcid).await, CaseState::SentBack);
    // A corrected start: reopens with the same id.
    let fixed = with(msg("startRelation"), "attributes", json!("{\"content\":\"已补充信息\"}"));
    assert_eq!(ok(&send(&store, &fixed).await), rcid);
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.case.urges_received, 1);
    let last = d.history.last().unwrap();
    assert_eq!((last.state_before, last.state_after), (CaseState::SentBack, CaseState::Open));
    // Now the result can go.
    assert!(cases::send(&store, &rcid, SendKind::Result, "已退款", "op1", now()).await.is_ok());
}

async fn deliver(store: &dyn Store, rcid: &str, unique_id: &str) {
    let reply = cases::OutboundReply { accepted: true, ..Default::default() };
    let e = cases::record_outcome(store, rcid, unique_id, &cases::OutboundOutcome::Accepted(reply), now()).await.unwrap();
    assert!(matches!(e, cases::OutcomeEffect::Applied { .. }), "{e:?}");
}

// ---------------------------------------------------------------- §1.6 Fliggy-owned sequences

#[tokio::test]
async fn full_fliggy_sequence_start_urge_reply_result_urge_end() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    ok(&send(&store, &with(msg("urgeCase"), "attributes", json!("快点"))).await);
    let r = cases::send(&store, "0000000", SendKind::Reply, "处理中", "op1", now()).await.unwrap();
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    ok(&send(&store, &with(msg("urgeCase"), "attributes", json!("再快点"))).await);
    let r = cases::send(&store, "0000000", SendKind::Result, "已退款", "op1", now()).await.unwrap();
    assert_eq!(r.state, CaseState::Open, "moves when Fliggy accepts");
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    assert_eq!(state(&store, &rcid).await, CaseState::ResultSent);
    // urge after the result (race): accepted; a supplementary result too.
    ok(&send(&store, &with(msg("urgeCase"), "attributes", json!("还没到账"))).await);
    let r = cases::send(&store, "0000000", SendKind::Result, "补充: 已到账", "op1", now()).await.unwrap();
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    ok(&send(&store, &msg("endRelation")).await);
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Closed);
    assert_eq!(d.case.urges_received, 3);
    let kinds: Vec<(EntryKind, RelationType)> = d.history.iter().map(|h| (h.kind, h.relation_type)).collect();
    use EntryKind::*;
    use RelationType::*;
    assert_eq!(
        kinds,
        vec![
            (Inbound, StartRelation),
            (Inbound, UrgeCase),
            (Outbound, Reply),
            (Outcome, Reply),
            (Inbound, UrgeCase),
            (Outbound, Result),
            (Outcome, Result),
            (Inbound, UrgeCase),
            (Outbound, Result),
            (Outcome, Result),
            (Inbound, EndRelation),
        ]
    );
    assert!(d.history.iter().all(|h| !h.operator.is_empty() && h.at == now()));
    assert_eq!(d.history.iter().map(|h| h.seq).collect::<Vec<_>>(), (1..=11).collect::<Vec<u64>>());
}

#[tokio::test]
async fn fliggy_sequence_start_send_back_end() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    let r = cases::send(&store, &rcid, SendKind::SendBack, "订单号不符", "op1", now()).await.unwrap();
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    ok(&send(&store, &msg("urgeCase")).await);
    ok(&send(&store, &msg("endRelation")).await);
    assert_eq!(state(&store, &rcid).await, CaseState::Closed);
}

#[tokio::test]
async fn inbound_reply_is_a_note() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    assert_eq!(ok(&send(&store, &with(msg("reply"), "attributes", json!("进度?"))).await), rcid);
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.history.len(), 2);
    assert_eq!(d.history[1].attributes.as_ref().unwrap().content(), Some("进度?"));
}

async fn refused(store: &MemoryStore, v: Value, expect: &str) {
    let before = cases::show(store, "0000000").await.unwrap();
    let a = send(store, &v).await;
    assert!(err(&a).starts_with(expect), "{a:?}");
    assert_eq!(cases::show(store, "0000000").await.unwrap(), before);
}

/// At least one illegal inbound message from each state of a Fliggy-owned case, each
/// answered with its code and nothing changed.
#[tokio::test]
async fn illegal_inbound_from_each_fliggy_state_changes_nothing() {
    let store = MemoryStore::new();
    // OPEN
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    refused(&store, msg("notify"), "E_INVALID_TRANSITION: notify not allowed on case 0000000 in state OPEN").await;
    refused(&store, msg("result"), "E_DIRECTION").await;
    // RESULT_SENT
    let r = cases::send(&store, &rcid, SendKind::Result, "ok", "op1", now()).await.unwrap();
    deliver(&store, &rcid, r.unique_id.as_deref().unwrap()).await;
    refused(&store, msg("notify"), "E_INVALID_TRANSITION").await;
    refused(&store, msg("sendBack"), "E_DIRECTION").await;
    refused(&store, with(msg("urgeCase"), "order_id", json!("1")), "E_CONFLICT").await;
    // CLOSED
    ok(&send(&store, &msg("endRelation")).await);
    refused(&store, with(msg("startRelation"), "operator", json!("x")), "E_CASE_CLOSED").await;
    refused(&store, msg("reply"), "E_CASE_CLOSED").await;
    // NOTIFIED and SENT_BACK
    let n = with(msg("notify"), "case_id", json!("1000001"));
    ok(&send(&store, &n).await);
    let a = send(&store, &with(msg("startRelation"), "case_id", json!("1000001"))).await;
    assert_eq!(err(&a), "E_INVALID_TRANSITION: startRelation not allowed on notify-only case");
    let s = with(msg("startRelation"), "case_id", json!("1000002"));
    let rc2 = ok(&send(&store, &s).await);
    let r = cases::send(&store, &rc2, SendKind::SendBack, "no", "op1", now()).await.unwrap();
    deliver(&store, &rc2, r.unique_id.as_deref().unwrap()).await;
    let a = send(&store, &with(msg("notify"), "case_id", json!("1000002"))).await;
    assert_eq!(err(&a), format!("E_INVALID_TRANSITION: notify not allowed on case 1000002 in state SENT_BACK"));
    assert_eq!(state(&store, "1000002").await, CaseState::SentBack);
}

#[tokio::test]
async fn relation_case_id_must_agree_with_case_id() {
    let store = MemoryStore::new();
    let rcid = ok(&send(&store, &msg("startRelation")).await);
    let a = send(&store, &with(msg("urgeCase"), "relation_case_id", json!("R-other"))).await;
    assert_eq!(err(&a), format!("E_CONFLICT: case 0000000 belongs to relation case {rcid}, not R-other"));
    // Matching is fine; "" is absent.
    ok(&send(&store, &with(msg("urgeCase"), "relation_case_id", json!(rcid.clone()))).await);
    ok(&send(&store, &with(with(msg("urgeCase"), "relation_case_id", json!("")), "attributes", json!("2"))).await);
    // An id we never issued.
    let a = send(&store, &with(with(msg("urgeCase"), "case_id", json!("5")), "relation_case_id", json!("R-none"))).await;
    assert_eq!(err(&a), "E_CASE_NOT_FOUND: relation case R-none");
    // Another Fliggy case may not claim ours.
    let a = send(&store, &with(with(msg("urgeCase"), "case_id", json!("6")), "relation_case_id", json!(rcid.clone()))).await;
    assert_eq!(err(&a), format!("E_CONFLICT: relation case {rcid} is bound to case 0000000"));
}

// ---------------------------------------------------------------- store failures and races

/// A store whose transactions fail on demand.
struct Faulty {
    inner: MemoryStore,
    /// Transactions still to fail, and how.
    fail: AtomicUsize,
    conflict: bool,
}

#[async_trait]
impl Store for Faulty {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn query(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query(pk, sk).await
    }
    async fn query_index(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query_index(pk, sk).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err(if self.conflict { StoreError::Conflict } else { StoreError::Unavailable("down".into()) });
        }
        self.inner.transact(writes).await
    }
}

#[tokio::test]
async fn store_down_answers_internal_and_a_redelivery_then_succeeds() {
    let store = Faulty { inner: MemoryStore::new(), fail: AtomicUsize::new(1), conflict: false };
    let a = send(&store, &msg("startRelation")).await;
    assert!(a.internal_error);
    assert!(!a.success);
    assert!(err(&a).starts_with("E_INTERNAL: "));
    let b = send(&store, &msg("startRelation")).await;
    ok(&b);
    assert_eq!(cases::list(&store, false, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn lost_races_are_decided_again() {
    let store = Faulty { inner: MemoryStore::new(), fail: AtomicUsize::new(2), conflict: true };
    ok(&send(&store, &msg("startRelation")).await);
    let store = Faulty { inner: MemoryStore::new(), fail: AtomicUsize::new(50), conflict: true };
    assert!(send(&store, &msg("startRelation")).await.internal_error);
}

/// A store that, on the first transaction, lets a concurrent twin commit first.
struct Racing {
    inner: Arc<MemoryStore>,
    armed: AtomicUsize,
}

#[async_trait]
impl Store for Racing {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn query(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query(pk, sk).await
    }
    async fn query_index(&self, pk: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        self.inner.query_index(pk, sk).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if self.armed.swap(0, Ordering::SeqCst) == 1 {
            // The twin: the same case opened with another body.
            let twin = with(msg("startRelation"), "operator", json!("twin"));
            ok(&cases::receive(self.inner.as_ref(), twin.to_string().as_bytes(), now()).await);
        }
        self.inner.transact(writes).await
    }
}

#[tokio::test]
async fn concurrent_starts_share_one_relation_case_id() {
    let inner = Arc::new(MemoryStore::new());
    let store = Racing { inner: inner.clone(), armed: AtomicUsize::new(1) };
    let mine = ok(&send(&store, &msg("startRelation")).await);
    let d = cases::show(inner.as_ref(), "0000000").await.unwrap();
    assert_eq!(d.case.relation_case_id, mine);
    assert_eq!(d.case.opened_by, "twin");
    assert_eq!(d.history.len(), 2);
    assert_eq!(cases::list(inner.as_ref(), false, None).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------- the pure machine

#[test]
fn machine_direction_and_closed_rules() {
    use CaseState::*;
    use RelationType::*;
    let t = |o, s, a, r| machine::transition(o, s, a, r, "case 1");
    // Only the opener starts, urges and ends; only the handler answers.
    for s in [Open, ResultSent, SentBack] {
        assert!(matches!(t(Owner::Fliggy, s, Actor::Supplier, UrgeCase), Err(CaseError::Direction(_))));
        assert!(matches!(t(Owner::Fliggy, s, Actor::Supplier, EndRelation), Err(CaseError::Direction(_))));
        assert!(matches!(t(Owner::Supplier, s, Actor::Fliggy, UrgeCase), Err(CaseError::Direction(_))));
        assert!(matches!(t(Owner::Supplier, s, Actor::Supplier, Result), Err(CaseError::Direction(_))));
    }
    assert_eq!(t(Owner::Fliggy, Closed, Actor::Fliggy, EndRelation), Ok(Closed));
    for r in [StartRelation, Notify, UrgeCase, Reply] {
        assert!(matches!(t(Owner::Fliggy, Closed, Actor::Fliggy, r), Err(CaseError::CaseClosed(_))), "{r}");
    }
    assert!(matches!(t(Owner::Supplier, Closed, Actor::Supplier, EndRelation), Err(CaseError::CaseClosed(_))));
    assert_eq!(machine::opening(Actor::Fliggy, UrgeCase), None);
    assert_eq!(machine::opening(Actor::Supplier, StartRelation), Some((Owner::Supplier, Draft)));
    assert!(matches!(t(Owner::Fliggy, Open, Actor::Supplier, Notify), Err(CaseError::Direction(_))));
}

#[test]
fn machine_fliggy_owned_table() {
    use CaseState::*;
    use RelationType::*;
    let f = |s, a, r| machine::transition(Owner::Fliggy, s, a, r, "case 1");
    assert_eq!(f(Open, Actor::Fliggy, StartRelation), Ok(Open));
    assert_eq!(f(SentBack, Actor::Fliggy, StartRelation), Ok(Open));
    assert_eq!(f(Open, Actor::Fliggy, UrgeCase), Ok(Open));
    assert_eq!(f(ResultSent, Actor::Fliggy, UrgeCase), Ok(ResultSent));
    assert_eq!(f(SentBack, Actor::Fliggy, UrgeCase), Ok(SentBack));
    for s in [Open, Notified, ResultSent, SentBack] {
        assert_eq!(f(s, Actor::Fliggy, EndRelation), Ok(Closed));
        assert_eq!(f(s, Actor::Fliggy, Reply), Ok(s));
    }
    assert_eq!(f(Open, Actor::Supplier, Result), Ok(ResultSent));
    assert_eq!(f(ResultSent, Actor::Supplier, Result), Ok(ResultSent));
    assert_eq!(f(Open, Actor::Supplier, SendBack), Ok(SentBack));
    assert_eq!(f(Open, Actor::Supplier, Reply), Ok(Open));
    // Illegal, one or more from each state.
    assert_eq!(f(Notified, Actor::Fliggy, UrgeCase), Err(CaseError::InvalidTransition("urgeCase not allowed on notify-only case".into())));
    assert!(matches!(f(Notified, Actor::Supplier, Result), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(Open, Actor::Fliggy, Notify), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(ResultSent, Actor::Supplier, SendBack), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(ResultSent, Actor::Supplier, Reply), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(SentBack, Actor::Supplier, Result), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(SentBack, Actor::Supplier, SendBack), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(Closed, Actor::Supplier, Result), Err(CaseError::CaseClosed(_))));
}

#[test]
fn machine_supplier_owned_table() {
    use CaseState::*;
    use RelationType::*;
    let f = |s, a, r| machine::transition(Owner::Supplier, s, a, r, "relation case R");
    assert_eq!(f(Draft, Actor::Supplier, StartRelation), Ok(Open));
    assert_eq!(f(SentBack, Actor::Supplier, StartRelation), Ok(Open));
    assert_eq!(f(Open, Actor::Supplier, UrgeCase), Ok(Open));
    assert_eq!(f(Open, Actor::Supplier, Reply), Ok(Open));
    assert_eq!(f(Open, Actor::Fliggy, SendBack), Ok(SentBack));
    assert_eq!(f(Open, Actor::Fliggy, Result), Ok(ResultReceived));
    assert_eq!(f(ResultReceived, Actor::Fliggy, Result), Ok(ResultReceived));
    assert_eq!(f(Draft, Actor::Fliggy, Result), Ok(ResultReceived));
    for s in [Draft, Open, SentBack, ResultReceived] {
        assert_eq!(f(s, Actor::Supplier, EndRelation), Ok(Closed));
    }
    // Illegal, one or more from each state.
    assert!(matches!(f(Draft, Actor::Supplier, UrgeCase), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(Open, Actor::Supplier, StartRelation), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(SentBack, Actor::Fliggy, Result), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(SentBack, Actor::Supplier, UrgeCase), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(ResultReceived, Actor::Fliggy, SendBack), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(ResultReceived, Actor::Supplier, UrgeCase), Err(CaseError::InvalidTransition(_))));
    assert!(matches!(f(Closed, Actor::Fliggy, Result), Err(CaseError::CaseClosed(_))));
    assert!(matches!(f(Closed, Actor::Fliggy, EndRelation), Err(CaseError::Direction(_))));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn any_state() -> impl Strategy<Value = CaseState> {
        prop::sample::select(vec![
            CaseState::Draft,
            CaseState::Open,
            CaseState::Notified,
            CaseState::ResultSent,
            CaseState::SentBack,
            CaseState::ResultReceived,
            CaseState::Closed,
        ])
    }

    proptest! {
        /// CLOSED is terminal: the only accepted message is Fliggy's repeated end.
        #[test]
        fn closed_is_terminal(owner in prop::sample::select(vec![Owner::Fliggy, Owner::Supplier]),
                              actor in prop::sample::select(vec![Actor::Fliggy, Actor::Supplier]),
                              t in prop::sample::select(RelationType::ALL.to_vec())) {
            if let Ok(next) = machine::transition(owner, CaseState::Closed, actor, t, "c") {
                prop_assert_eq!(next, CaseState::Closed);
                prop_assert_eq!((owner, actor, t), (Owner::Fliggy, Actor::Fliggy, RelationType::EndRelation));
            }
        }

        /// Urges and replies never move a case (they are notes or counters).
        #[test]
        fn urges_and_replies_keep_the_state(owner in prop::sample::select(vec![Owner::Fliggy, Owner::Supplier]),
                                            actor in prop::sample::select(vec![Actor::Fliggy, Actor::Supplier]),
                                            s in any_state(),
                                            t in prop::sample::select(vec![RelationType::UrgeCase, RelationType::Reply])) {
            if let Ok(next) = machine::transition(owner, s, actor, t, "c") {
                prop_assert_eq!(next, s);
            }
        }

        /// Any body that is not a valid message is refused with a §1.8 code, never a panic.
        #[test]
        fn parse_never_panics(body in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Err(e) = parse_inbound(&body, &RelationConfig::default()) {
                prop_assert!(e.info().starts_with("E_"));
            }
        }
    }
}
