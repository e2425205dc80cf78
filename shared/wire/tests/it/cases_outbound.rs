//! Collaboration work orders, operator side: partners.md §3.1 F15–F18, operator-opened cases
//! (§1.6 supplier-owned), outbound validation, outbox callbacks, outcomes, listing.

use crate::cases_support::cases::{CaseError, CaseState, EntryKind, OutboundOutcome, OutboundReply, OutcomeEffect, Owner, RelationType, SendKind};
use crate::cases_support::{cases, Info};
use busgate_domain::cases::ActionRef;
use busgate_domain::outbox::{Callback, CallbackStatus, Destination};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::Store;
use busgate_wire::relation::RelationAnswer;
use busgate_wire::relation::{
    action_of, fill_caller_info, outcome_of, parse_reply, CALLER_INFO_PARAM, CALLER_INFO_PLACEHOLDER, RELATION_METHOD, REQUEST_PARAM,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

/// What the outbox worker does once a relation callback has its final outcome: the action it
/// carries (typed, or a TOP call stored before actions were typed) records it.
async fn record_callback_outcome(
    store: &dyn Store,
    cb: &Callback,
    outcome: &OutboundOutcome,
    now: DateTime<Utc>,
) -> Result<Option<OutcomeEffect>, CaseError> {
    match action_of(cb) {
        None => Ok(None),
        Some(a) => cases::record_outcome(store, &a.relation_case_id, &a.unique_id, outcome, now).await.map(Some),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap()
}

fn inbound(case_id: &str, relation_type: &str) -> Value {
    json!({
        "case_id": case_id,
        "relation_type": relation_type,
        "operator": "小二A",
        "order_id": "444444444",
        "attributes": "{\"content\":\"备注\"}"
    })
}

async fn recv(store: &dyn Store, v: &Value) -> RelationAnswer {
    cases::receive(store, v.to_string().as_bytes(), now()).await
}

async fn pending_callbacks(store: &dyn Store) -> Vec<Callback> {
    store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await.unwrap().iter().map(|i| i.decode().unwrap()).collect()
}

async fn callback(store: &dyn Store, id: &str) -> Callback {
    store.get(&Callback::key(id)).await.unwrap().unwrap().decode().unwrap()
}

fn request_of(cb: &Callback) -> Value {
    let (method, params) = busgate_wire::callbacks::top_call(&cb.destination).expect("a TOP call");
    assert_eq!(method, RELATION_METHOD);
    assert_eq!(params.len(), 2);
    assert_eq!(params[0], (CALLER_INFO_PARAM.to_string(), CALLER_INFO_PLACEHOLDER.to_string()));
    assert_eq!(params[1].0, REQUEST_PARAM);
    serde_json::from_str(&params[1].1).unwrap()
}

fn accepted(case_id: Option<&str>, slafz: Option<&str>) -> OutboundOutcome {
    OutboundOutcome::Accepted(OutboundReply {
        accepted: true,
        case_id: case_id.map(str::to_string),
        slafz: slafz.map(str::to_string),
        ..Default::default()
    })
}

/// An operator-opened case, accepted by Fliggy as case `case_id`.
async fn opened(store: &dyn Store, case_id: &str) -> String {
    let r = cases::open(store, "444444444", "请协助改签", "op1", now()).await.unwrap();
    let cb = callback(store, r.callback_id.as_deref().unwrap()).await;
    let e = record_callback_outcome(store, &cb, &accepted(Some(case_id), None), now()).await.unwrap();
    assert_eq!(e, Some(OutcomeEffect::Applied { state: CaseState::Open }));
    r.relation_case_id
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

// ---------------------------------------------------------------- §3.1

#[tokio::test]
async fn f15_operator_start_then_fliggy_accepts() {
    let store = MemoryStore::new();
    let r = cases::open(&store, "444444444", "请协助退款", "xingxing", now()).await.unwrap();
    assert_eq!(r.state, CaseState::Draft);
    assert_eq!(r.relation_type, RelationType::StartRelation);
    let rcid = r.relation_case_id.clone();
    let unique_id = r.unique_id.clone().unwrap();
    assert!(is_uuid(&unique_id), "{unique_id}");

    // The outbox holds the call, without case_id, with caller_info as a placeholder only.
    let cbs = pending_callbacks(&store).await;
    assert_eq!(cbs.len(), 1);
    let cb = &cbs[0];
    assert_eq!(Some(cb.id.clone()), r.callback_id);
    let req = request_of(cb);
    assert_eq!(
        req,
        json!({
            "relation_type": "startRelation",
            "order_id": "444444444",
            "relation_case_id": rcid,
            "operator": "xingxing",
            "attributes": "{\"content\":\"请协助退款\"}",
            "unique_id": unique_id,
        })
    );
    // Field order of §1.4 in the stored bytes.
    let (_, params) = busgate_wire::callbacks::top_call(&cb.destination).expect("a TOP call");
    let params = &params;
    assert!(params[1].1.starts_with("{\"relation_type\":\"startRelation\",\"order_id\":\"444444444\",\"relation_case_id\":"));
    // The sender fills caller_info; the stored record never holds the secret.
    let filled = fill_caller_info(params, "ori-fcir", "hiuhoh3oh4oh5oih");
    let info: Value = serde_json::from_str(&filled[0].1).unwrap();
    assert_eq!(info, json!({"app_name": "ori-fcir", "app_secret": "hiuhoh3oh4oh5oih"}));
    assert_eq!(filled[1], params[1]);
    let raw = store.get(&Callback::key(&cb.id)).await.unwrap().unwrap().body;
    assert!(!raw.contains("hiuhoh3oh4oh5oih") && !raw.contains("app_secret"));

    // The case is a DRAFT with the outbound message in its history.
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!((d.case.owner, d.case.state), (Owner::Supplier, CaseState::Draft));
    assert_eq!(d.history.len(), 1);
    assert_eq!((d.history[0].kind, d.history[0].operator.as_str()), (EntryKind::Outbound, "xingxing"));
    assert_eq!(d.history[0].unique_id.as_deref(), Some(unique_id.as_str()));

    // Fliggy's answer (mocked, F15), parsed as the sender will.
    let answer = format!(
        r#"{{"alitrip_serve_workorder_relation_response":{{"result":true,"data":{{"case_id":"000000","relation_case_id":"{rcid}","slafz":"2024-05-01 18:00:00"}},"request_id":"x"}}}}"#
    );
    let reply = parse_reply(&answer).unwrap();
    let e = record_callback_outcome(&store, cb, &OutboundOutcome::Accepted(reply), now()).await.unwrap();
    assert_eq!(e, Some(OutcomeEffect::Applied { state: CaseState::Open }));
    let d = cases::show(&store, "000000").await.unwrap();
    assert_eq!(d.case.relation_case_id, rcid);
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.case.case_id.as_deref(), Some("000000"));
    assert_eq!(d.case.slafz.as_deref(), Some("2024-05-01 18:00:00"));
    assert_eq!(d.case.sla_deadline, Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()));
    assert_eq!(d.history.last().unwrap().kind, EntryKind::Outcome);
    assert_eq!((d.history.last().unwrap().state_before, d.history.last().unwrap().state_after), (CaseState::Draft, CaseState::Open));
}

#[tokio::test]
async fn f16_refused_result_is_surfaced_and_changes_no_state() {
    let store = MemoryStore::new();
    let rcid = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    let r = cases::send(&store, "0000000", SendKind::Result, "已退款", "op1", now()).await.unwrap();
    let cb = callback(&store, r.callback_id.as_deref().unwrap()).await;
    let req = request_of(&cb);
    assert_eq!(req["case_id"], "0000000");
    assert_eq!(req["relation_case_id"], rcid.as_str());
    assert_eq!(req["relation_type"], "result");
    let reply = parse_reply(r#"{"result":false,"msg_code":"001","error_msg":"失败"}"#).unwrap();
    let e = record_callback_outcome(&store, &cb, &OutboundOutcome::Accepted(reply.clone()), now()).await.unwrap();
    assert_eq!(e, Some(OutcomeEffect::Failed { error: "001: 失败".into() }));
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.case.last_error.as_deref(), Some("001: 失败"));
    assert_eq!(d.case.actions[0].status, cases::ActionStatus::Failed);
    assert_eq!(d.history.last().unwrap().note.as_deref(), Some("refused: 001: 失败"));
    let listed = cases::list(&store, true, None).await.unwrap();
    assert_eq!(listed[0].last_error.as_deref(), Some("001: 失败"));
    // Reported twice: recorded once.
    let again = record_callback_outcome(&store, &cb, &OutboundOutcome::Accepted(reply), now()).await.unwrap();
    assert_eq!(again, Some(OutcomeEffect::AlreadyRecorded));
    assert_eq!(cases::show(&store, &rcid).await.unwrap().history.len(), d.history.len());
    // The operator may send the result again: a new action with a new unique_id.
    let r2 = cases::send(&store, &rcid, SendKind::Result, "已退款(重发)", "op1", now()).await.unwrap();
    assert_ne!(r2.unique_id, r.unique_id);
}

#[tokio::test]
async fn f17_retries_carry_the_same_unique_id_and_move_the_case_once() {
    let store = MemoryStore::new();
    let rcid = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    let r = cases::send(&store, &rcid, SendKind::Result, "已退款", "op1", now()).await.unwrap();
    // Every attempt sends the stored bytes: the same unique_id each time.
    let first = request_of(&callback(&store, r.callback_id.as_deref().unwrap()).await);
    let second = request_of(&callback(&store, r.callback_id.as_deref().unwrap()).await);
    assert_eq!(first["unique_id"], second["unique_id"]);
    assert_eq!(first["unique_id"], r.unique_id.as_deref().unwrap());
    // Timeout (nothing recorded), then success: one transition, reported twice = once.
    let cb = callback(&store, r.callback_id.as_deref().unwrap()).await;
    let e = record_callback_outcome(&store, &cb, &accepted(None, None), now()).await.unwrap();
    assert_eq!(e, Some(OutcomeEffect::Applied { state: CaseState::ResultSent }));
    let e = record_callback_outcome(&store, &cb, &accepted(None, None), now()).await.unwrap();
    assert_eq!(e, Some(OutcomeEffect::AlreadyRecorded));
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::ResultSent);
    assert_eq!(d.history.iter().filter(|h| h.kind == EntryKind::Outcome).count(), 1);
}

#[tokio::test]
async fn a_failed_action_replayed_from_the_dead_letter_queue_still_applies() {
    let store = MemoryStore::new();
    let rcid = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    let r = cases::send(&store, &rcid, SendKind::SendBack, "信息不全", "op1", now()).await.unwrap();
    let uid = r.unique_id.unwrap();
    let e = cases::record_outcome(
        &store,
        &rcid,
        &uid,
        &OutboundOutcome::Failed { code: Some("isp.timeout".into()), message: "out of attempts".into() },
        now(),
    )
    .await
    .unwrap();
    assert_eq!(e, OutcomeEffect::Failed { error: "isp.timeout: out of attempts".into() });
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.state, CaseState::Open);
    let e = cases::record_outcome(&store, &rcid, &uid, &accepted(None, None), now()).await.unwrap();
    assert_eq!(e, OutcomeEffect::Applied { state: CaseState::SentBack });
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.last_error, None);
}

#[tokio::test]
async fn f18_fliggy_sends_back_our_case() {
    let store = MemoryStore::new();
    let rcid = opened(&store, "000000").await;
    let v = json!({"case_id": "000000", "relation_type": "sendBack", "relation_case_id": rcid, "operator": "小二B", "order_id": "444444444"});
    let a = recv(&store, &v).await;
    assert!(a.success, "{a:?}");
    assert_eq!(a.relation_case_id.as_deref(), Some(rcid.as_str()));
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.state, CaseState::SentBack);
}

// ---------------------------------------------------------------- supplier-owned sequences

#[tokio::test]
async fn full_supplier_sequence() {
    let store = MemoryStore::new();
    let rcid = opened(&store, "000000").await;
    // urge↑ and reply↑ while OPEN
    for kind in [SendKind::Urge, SendKind::Reply, SendKind::Urge] {
        let r = cases::send(&store, &rcid, kind, "请尽快", "op1", now()).await.unwrap();
        let e = cases::record_outcome(&store, &rcid, r.unique_id.as_deref().unwrap(), &accepted(Some("000000"), Some("2024-05-02 12:00:00")), now())
            .await
            .unwrap();
        assert_eq!(e, OutcomeEffect::Applied { state: CaseState::Open });
    }
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.urges_sent, 2);
    assert_eq!(d.case.slafz.as_deref(), Some("2024-05-02 12:00:00"));
    // sendBack(in) → SENT_BACK
    let back = json!({"case_id": "000000", "relation_type": "sendBack", "operator": "小二B", "order_id": "444444444", "attribute_s": "缺少截图"});
    assert!(recv(&store, &back).await.success);
    // startRelation↑ again (resubmission) carries Fliggy's case_id.
    let r = cases::send(&store, &rcid, SendKind::Start, "已补充截图", "op1", now()).await.unwrap();
    let req = request_of(&callback(&store, r.callback_id.as_deref().unwrap()).await);
    assert_eq!(req["case_id"], "000000");
    assert_eq!(req["relation_type"], "startRelation");
    let e = cases::record_outcome(&store, &rcid, r.unique_id.as_deref().unwrap(), &accepted(Some("000000"), None), now()).await.unwrap();
    assert_eq!(e, OutcomeEffect::Applied { state: CaseState::Open });
    // result(in) → RESULT_RECEIVED, a supplement is fine.
    let res =
        json!({"case_id": "000000", "relation_type": "result", "operator": "小二B", "order_id": "444444444", "attributes": {"content": "已改签"}});
    assert!(recv(&store, &res).await.success);
    assert!(
        recv(
            &store,
            &json!({"case_id": "000000", "relation_type": "result", "operator": "小二B", "order_id": "444444444", "attributes": {"content": "补充"}})
        )
        .await
        .success
    );
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.state, CaseState::ResultReceived);
    // endRelation↑ → CLOSED
    let r = cases::send(&store, &rcid, SendKind::End, "", "op1", now()).await.unwrap();
    let req = request_of(&callback(&store, r.callback_id.as_deref().unwrap()).await);
    assert!(req.get("attributes").is_none(), "an empty note sends no attributes");
    let e = cases::record_outcome(&store, &rcid, r.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    assert_eq!(e, OutcomeEffect::Applied { state: CaseState::Closed });
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Closed);
    assert_eq!(d.history.iter().filter(|h| h.kind == EntryKind::Inbound).count(), 3);
    assert_eq!(d.history.iter().filter(|h| h.kind == EntryKind::Outbound).count(), 6);
}

#[tokio::test]
async fn fliggy_may_answer_before_our_start_outcome_is_recorded() {
    let store = MemoryStore::new();
    let r = cases::open(&store, "444444444", "请协助", "op1", now()).await.unwrap();
    let rcid = r.relation_case_id.clone();
    // Fliggy's result arrives with our id and its new case_id before the delivery outcome.
    let res = json!({"case_id": "000001", "relation_type": "result", "relation_case_id": rcid, "operator": "小二B", "order_id": "444444444"});
    let a = recv(&store, &res).await;
    assert!(a.success, "{a:?}");
    let d = cases::show(&store, "000001").await.unwrap();
    assert_eq!((d.case.state, d.case.case_id.as_deref()), (CaseState::ResultReceived, Some("000001")));
    // The start's outcome then does not move the case back.
    let e = cases::record_outcome(&store, &rcid, r.unique_id.as_deref().unwrap(), &accepted(Some("000001"), None), now()).await.unwrap();
    assert!(matches!(e, OutcomeEffect::NotApplied { .. }), "{e:?}");
    assert_eq!(cases::show(&store, &rcid).await.unwrap().case.state, CaseState::ResultReceived);
}

#[tokio::test]
async fn fliggy_opener_messages_on_our_case_are_the_wrong_direction() {
    let store = MemoryStore::new();
    opened(&store, "000000").await;
    for t in ["urgeCase", "endRelation", "startRelation"] {
        let a = recv(&store, &inbound("000000", t)).await;
        assert_eq!(a.error_info.unwrap(), format!("E_DIRECTION: {t} for a supplier-initiated case must come from the supplier"));
    }
    assert_eq!(
        recv(&store, &inbound("000000", "notify")).await.error_info.unwrap(),
        "E_DIRECTION: notify is not offered on a supplier-initiated case"
    );
    assert!(recv(&store, &inbound("000000", "reply")).await.success);
}

// ---------------------------------------------------------------- outbound validation

async fn refused_out(store: &dyn Store, id: &str, kind: SendKind, expect: &str) {
    let before = cases::show(store, id).await.unwrap();
    let n = pending_callbacks(store).await.len();
    let e = cases::send(store, id, kind, "note", "op1", now()).await.unwrap_err();
    assert!(e.info().starts_with(expect), "{e}");
    assert_eq!(cases::show(store, id).await.unwrap(), before, "nothing written");
    assert_eq!(pending_callbacks(store).await.len(), n, "no callback");
}

#[tokio::test]
async fn illegal_outbound_actions_write_nothing() {
    let store = MemoryStore::new();
    // Fliggy-owned OPEN: we do not urge or end Fliggy's case.
    let fc = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    refused_out(&store, &fc, SendKind::Urge, "E_DIRECTION: urgeCase for a Fliggy-initiated case must come from Fliggy").await;
    refused_out(&store, &fc, SendKind::End, "E_DIRECTION").await;
    refused_out(&store, &fc, SendKind::Start, "E_DIRECTION").await;
    // One state change in flight at a time; a reply is fine meanwhile.
    let r = cases::send(&store, &fc, SendKind::Result, "ok", "op1", now()).await.unwrap();
    refused_out(&store, &fc, SendKind::SendBack, "E_INVALID_TRANSITION: result (unique_id").await;
    let reply = cases::send(&store, &fc, SendKind::Reply, "处理中", "op1", now()).await.unwrap();
    cases::record_outcome(&store, &fc, reply.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    cases::record_outcome(&store, &fc, r.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    // RESULT_SENT
    refused_out(&store, &fc, SendKind::SendBack, "E_INVALID_TRANSITION: sendBack not allowed on case 0000000 in state RESULT_SENT").await;
    refused_out(&store, &fc, SendKind::Reply, "E_INVALID_TRANSITION").await;
    // NOTIFIED
    let nc = recv(&store, &inbound("1111111", "notify")).await.relation_case_id.unwrap();
    refused_out(&store, &nc, SendKind::Result, "E_INVALID_TRANSITION: result not allowed on notify-only case").await;
    // SENT_BACK (Fliggy-owned)
    let sc = recv(&store, &inbound("2222222", "startRelation")).await.relation_case_id.unwrap();
    let r = cases::send(&store, &sc, SendKind::SendBack, "no", "op1", now()).await.unwrap();
    cases::record_outcome(&store, &sc, r.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    refused_out(&store, &sc, SendKind::Result, "E_INVALID_TRANSITION").await;
    // CLOSED
    assert!(recv(&store, &inbound("0000000", "endRelation")).await.success);
    refused_out(&store, &fc, SendKind::Result, "E_CASE_CLOSED: case 0000000 is closed").await;
    // Supplier-owned: DRAFT, OPEN, SENT_BACK, RESULT_RECEIVED, CLOSED.
    let d = cases::open(&store, "444444444", "x", "op1", now()).await.unwrap();
    refused_out(&store, &d.relation_case_id, SendKind::Urge, "E_INVALID_TRANSITION").await;
    refused_out(&store, &d.relation_case_id, SendKind::End, "E_INVALID_TRANSITION: startRelation (unique_id").await;
    let oc = opened(&store, "3333333").await;
    refused_out(&store, &oc, SendKind::Result, "E_DIRECTION: result for a supplier-initiated case must come from Fliggy").await;
    refused_out(&store, &oc, SendKind::SendBack, "E_DIRECTION").await;
    refused_out(&store, &oc, SendKind::Start, "E_INVALID_TRANSITION: startRelation not allowed on case 3333333 in state OPEN").await;
    let back = json!({"case_id": "3333333", "relation_type": "sendBack", "operator": "小二B", "order_id": "444444444"});
    assert!(recv(&store, &back).await.success);
    refused_out(&store, &oc, SendKind::Urge, "E_INVALID_TRANSITION").await;
    let rc = opened(&store, "4444444").await;
    let res = json!({"case_id": "4444444", "relation_type": "result", "operator": "小二B", "order_id": "444444444"});
    assert!(recv(&store, &res).await.success);
    refused_out(&store, &rc, SendKind::Reply, "E_INVALID_TRANSITION").await;
    let r = cases::send(&store, &rc, SendKind::End, "", "op1", now()).await.unwrap();
    cases::record_outcome(&store, &rc, r.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    refused_out(&store, &rc, SendKind::End, "E_CASE_CLOSED").await;
    // Inputs.
    assert_eq!(cases::send(&store, "nope", SendKind::Reply, "", "op1", now()).await.unwrap_err(), CaseError::CaseNotFound("case nope".into()));
    assert_eq!(cases::send(&store, &oc, SendKind::End, "", " ", now()).await.unwrap_err(), CaseError::MissingField("operator".into()));
    assert!(matches!(cases::open(&store, "44-44", "x", "op1", now()).await, Err(CaseError::InvalidFormat(_))));
    assert!(matches!(cases::open(&store, "", "x", "op1", now()).await, Err(CaseError::MissingField(_))));
}

#[tokio::test]
async fn a_draft_fliggy_never_accepted_closes_locally() {
    let store = MemoryStore::new();
    let r = cases::open(&store, "444444444", "x", "op1", now()).await.unwrap();
    let refusal = OutboundOutcome::Accepted(OutboundReply { accepted: false, refusal: Some("001: 失败".into()), ..Default::default() });
    cases::record_outcome(&store, &r.relation_case_id, r.unique_id.as_deref().unwrap(), &refusal, now()).await.unwrap();
    assert_eq!(cases::show(&store, &r.relation_case_id).await.unwrap().case.state, CaseState::Draft);
    let n = pending_callbacks(&store).await.len();
    let end = cases::send(&store, &r.relation_case_id, SendKind::End, "", "op1", now()).await.unwrap();
    assert_eq!((end.state, end.unique_id, end.callback_id), (CaseState::Closed, None, None));
    assert_eq!(pending_callbacks(&store).await.len(), n);
    let d = cases::show(&store, &r.relation_case_id).await.unwrap();
    assert_eq!(d.case.state, CaseState::Closed);
    assert_eq!(d.history.last().unwrap().kind, EntryKind::Local);
}

#[tokio::test]
async fn an_outcome_after_fliggy_closed_the_case_is_not_applied() {
    let store = MemoryStore::new();
    let rcid = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    let r = cases::send(&store, &rcid, SendKind::Result, "ok", "op1", now()).await.unwrap();
    assert!(recv(&store, &inbound("0000000", "endRelation")).await.success);
    let e = cases::record_outcome(&store, &rcid, r.unique_id.as_deref().unwrap(), &accepted(None, None), now()).await.unwrap();
    assert_eq!(e, OutcomeEffect::NotApplied { reason: "case closed: case 0000000 is closed".into() });
    let d = cases::show(&store, &rcid).await.unwrap();
    assert_eq!(d.case.state, CaseState::Closed);
    assert!(d.history.last().unwrap().note.as_deref().unwrap().contains("not applied"));
}

#[tokio::test]
async fn outcome_of_an_unknown_action() {
    let store = MemoryStore::new();
    let rcid = recv(&store, &inbound("0000000", "startRelation")).await.relation_case_id.unwrap();
    assert!(matches!(cases::record_outcome(&store, &rcid, "nope", &accepted(None, None), now()).await, Err(CaseError::CaseNotFound(_))));
    assert!(matches!(cases::record_outcome(&store, "R0", "nope", &accepted(None, None), now()).await, Err(CaseError::CaseNotFound(_))));
    // A callback that is not a relation callback.
    let other = Callback::top("CB1", "taobao.bus.item.notify", "p", "{}".into(), "x", now());
    assert_eq!(record_callback_outcome(&store, &other, &accepted(None, None), now()).await.unwrap(), None);
    assert_eq!(action_of(&other), None);
}

// ---------------------------------------------------------------- listing and queries

#[tokio::test]
async fn list_puts_urged_and_near_sla_cases_first() {
    let store = MemoryStore::new();
    let at = |m: i64| now() + Duration::minutes(m);
    let start = |c: &str, order: &str| json!({"case_id": c, "relation_type": "startRelation", "operator": "a", "order_id": order});
    // A: plain, oldest.
    cases::receive(&store, start("A", "1").to_string().as_bytes(), at(0)).await;
    // B: urged.
    cases::receive(&store, start("B", "2").to_string().as_bytes(), at(1)).await;
    cases::receive(&store, json!({"case_id": "B", "relation_type": "urgeCase", "operator": "a", "order_id": "2"}).to_string().as_bytes(), at(2))
        .await;
    // C and D: ours, with SLA deadlines (D nearer).
    for (id, order, sla) in [("C", "3", "2024-05-03 12:00:00"), ("D", "4", "2024-05-02 12:00:00")] {
        let r = cases::open(&store, order, "x", "op", at(3)).await.unwrap();
        cases::record_outcome(&store, &r.relation_case_id, r.unique_id.as_deref().unwrap(), &accepted(Some(id), Some(sla)), at(4)).await.unwrap();
    }
    // E: closed.
    cases::receive(&store, start("E", "5").to_string().as_bytes(), at(5)).await;
    cases::receive(&store, json!({"case_id": "E", "relation_type": "endRelation", "operator": "a", "order_id": "5"}).to_string().as_bytes(), at(6))
        .await;
    let ids = |v: Vec<cases::CaseSummary>| v.into_iter().map(|c| c.case_id.unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(cases::list(&store, true, None).await.unwrap()), vec!["B", "D", "C", "A"]);
    assert_eq!(ids(cases::list(&store, false, None).await.unwrap()), vec!["B", "D", "C", "A", "E"]);
    // Per order, through the index.
    assert_eq!(ids(cases::list(&store, false, Some("5")).await.unwrap()), vec!["E"]);
    assert!(cases::list(&store, true, Some("5")).await.unwrap().is_empty());
    assert!(cases::list(&store, false, Some("9")).await.unwrap().is_empty());
    let b = cases::list(&store, true, Some("2")).await.unwrap();
    assert_eq!((b[0].urges_received, b[0].state), (1, CaseState::Open));
}

#[tokio::test]
async fn queries_use_keys_and_the_index_only() {
    use busgate_domain::store::Counting;
    let store = Counting::new(MemoryStore::new());
    recv(&store, &inbound("0000000", "startRelation")).await;
    recv(&store, &inbound("0000001", "startRelation")).await;
    store.calls.reset();
    cases::list(&store, false, Some("444444444")).await.unwrap();
    assert_eq!(store.calls.index_queries.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(store.calls.total(), 1);
    store.calls.reset();
    assert_eq!(cases::list(&store, false, None).await.unwrap().len(), 2);
    assert_eq!(store.calls.total(), 2);
    store.calls.reset();
    cases::show(&store, "0000000").await.unwrap();
    // Fliggy id → ours, the case, its history.
    assert_eq!(store.calls.total(), 4);
    // An inbound message: replay, pointer, case, one transaction.
    store.calls.reset();
    recv(&store, &inbound("0000000", "urgeCase")).await;
    assert_eq!(store.calls.total(), 4);
    assert_eq!(store.calls.transactions.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn show_unknown_case() {
    let store = MemoryStore::new();
    assert_eq!(cases::show(&store, "x").await.unwrap_err().info(), "E_CASE_NOT_FOUND: case x");
}

// ---------------------------------------------------------------- small pieces

#[test]
fn send_kinds_parse() {
    assert_eq!("result".parse::<SendKind>().unwrap(), SendKind::Result);
    assert_eq!("sendBack".parse::<SendKind>().unwrap(), SendKind::SendBack);
    assert_eq!("urgeCase".parse::<SendKind>().unwrap(), SendKind::Urge);
    assert_eq!("END".parse::<SendKind>().unwrap(), SendKind::End);
    assert_eq!("reply".parse::<SendKind>().unwrap().relation_type(), RelationType::Reply);
    assert!("close".parse::<SendKind>().unwrap_err().info().starts_with("E_INVALID_ENUM: kind \"close\""));
}

#[test]
fn replies_parse_with_or_without_wrapper() {
    let r = parse_reply(r#"{"result":"true","data":{"case_id":123,"operator":"青乔"},"msg_info":"成功"}"#).unwrap();
    assert!(r.accepted && r.refusal.is_none());
    assert_eq!(r.case_id.as_deref(), Some("123"));
    assert_eq!(r.operator.as_deref(), Some("青乔"));
    // A refusal in Fliggy's words: its code with the error message, or the info, or the code.
    let refused = |body: &str| parse_reply(body).unwrap().refusal;
    assert_eq!(refused(r#"{"result":false,"msg_code":"001","error_msg":"失败","msg_info":"x"}"#).as_deref(), Some("001: 失败"));
    assert_eq!(refused(r#"{"result":false,"msg_code":"002","msg_info":"重复"}"#).as_deref(), Some("002: 重复"));
    assert_eq!(refused(r#"{"result":"false"}"#).as_deref(), Some("result=false"));
    let e = parse_reply(r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.x","sub_msg":"y"}}"#).unwrap_err();
    let e = e.unwrap();
    assert_eq!((e.code.as_deref(), e.sub_code.as_deref()), (Some("15"), Some("isp.x")));
    assert!(parse_reply("<html>").unwrap_err().is_err());
    assert!(parse_reply(r#"{"data":{}}"#).unwrap_err().is_err());
}

#[test]
fn outcome_of_a_final_answer() {
    // Taken or refused by Fliggy: the reply, as read.
    match outcome_of(r#"{"result":false,"msg_code":"002","msg_info":"重复"}"#) {
        Some(OutboundOutcome::Accepted(r)) => assert_eq!((r.accepted, r.refusal.as_deref()), (false, Some("002: 重复"))),
        other => panic!("{other:?}"),
    }
    // A TOP error: its sub-code and sub-message win over the code and message.
    let failed = |body: &str| match outcome_of(body) {
        Some(OutboundOutcome::Failed { code, message }) => (code, message),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        failed(r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.x","sub_msg":"y"}}"#),
        (Some("isp.x".to_string()), "y".to_string())
    );
    assert_eq!(failed(r#"{"error_response":{"code":7,"msg":"App Call Limited"}}"#), (Some("7".to_string()), "App Call Limited".to_string()));
    // Unreadable: no outcome (the sender's disposition decides).
    assert!(outcome_of("<html>").is_none());
}

#[tokio::test]
async fn action_of_a_relation_callback() {
    let store = MemoryStore::new();
    let r = cases::open(&store, "444444444", "x", "op1", now()).await.unwrap();
    let cb = callback(&store, r.callback_id.as_deref().unwrap()).await;
    let a = action_of(&cb).unwrap();
    assert_eq!((a.relation_case_id, Some(a.unique_id)), (r.relation_case_id, r.unique_id));
    assert!(cb.subject.contains("startRelation"));
}

#[tokio::test]
async fn an_action_is_stored_in_the_business_terms_and_one_committed_as_a_top_call_still_reads() {
    let store = MemoryStore::new();
    let r = cases::open(&store, "444444444", "请协助退款", "op1", now()).await.unwrap();
    let cb = callback(&store, r.callback_id.as_deref().unwrap()).await;
    let Destination::Case { request } = &cb.destination else { panic!("not a case action: {:?}", cb.destination) };
    assert_eq!((request.note.as_str(), request.operator.as_str()), ("请协助退款", "op1"));
    // Rendered the same on every attempt.
    assert_eq!(busgate_wire::relation::request_json(request), busgate_wire::relation::request_json(request));

    // Committed before actions were typed: the TOP call as built.
    let legacy = Callback::new(
        "CB-OLD",
        Destination::Top {
            method: RELATION_METHOD.into(),
            params: vec![
                (CALLER_INFO_PARAM.into(), CALLER_INFO_PLACEHOLDER.into()),
                (
                    REQUEST_PARAM.into(),
                    r#"{"relation_type":"startRelation","order_id":"1","relation_case_id":"R1","operator":"a","unique_id":"U1"}"#.into(),
                ),
            ],
        },
        "relation case R1 startRelation",
        now(),
    );
    assert_eq!(action_of(&legacy), Some(ActionRef { relation_case_id: "R1".into(), unique_id: "U1".into() }));
    let (method, params) = busgate_wire::callbacks::top_call(&legacy.destination).unwrap();
    assert_eq!(
        (method.as_str(), params[1].1.as_str()),
        (RELATION_METHOD, r#"{"relation_type":"startRelation","order_id":"1","relation_case_id":"R1","operator":"a","unique_id":"U1"}"#)
    );
}
