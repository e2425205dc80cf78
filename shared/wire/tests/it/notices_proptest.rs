//! Mutated notices (dropped fields, wrong types, huge strings, invalid UTF-8, truncated bodies)
//! are all refused with a 4xx and a message, store nothing, and never panic.

use busgate_domain::store::memory::MemoryStore;
use busgate_domain::store::Counting;
use busgate_wire::fenbeitong::*;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/fenbeitong/");
const NAMES: [&str; 3] = ["flight_refund.json", "hotel_refund.json", "train_rebook.json"];

fn fixture(i: usize) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{}", NAMES[i])).expect("fixture")
}

/// Required in all three examples.
const REQUIRED: &[&str] = &[
    "/apply_type",
    "/apply",
    "/apply/id",
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
    "/orders/0/id",
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
];

/// String fields (required or optional) present in all three examples.
const STRINGS: &[&str] = &[
    "/apply_type",
    "/apply/id",
    "/apply/name",
    "/apply/apply_reason",
    "/apply/remark",
    "/proposer/id",
    "/proposer/third_id",
    "/proposer/phone",
    "/proposer/name",
    "/proposer/dept_id",
    "/proposer/third_dept_id",
    "/proposer/all_path_dept_name",
    "/orders/0/type",
    "/orders/0/id",
    "/orders/0/start_city",
    "/orders/0/end_city",
    "/orders/0/start_date",
    "/orders/0/end_date",
    "/user/id",
    "/user/third_id",
    "/user/name",
    "/user/phone",
    "/user/cert_no",
    "/contacter_name",
    "/contacter_phone",
    "/cost_attributions/0/id",
    "/cost_attributions/0/third_id",
    "/cost_attributions/0/name",
];

/// Integer fields present in all three examples.
const INTEGERS: &[&str] = &["/orders/0/category", "/user/cert_type"];

#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    StringWrongType(usize, usize),
    IntegerWrongType(usize, usize),
    HugeString(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..REQUIRED.len()).prop_map(Mutation::Drop),
        (0..STRINGS.len(), 0..5usize).prop_map(|(p, k)| Mutation::StringWrongType(p, k)),
        (0..INTEGERS.len(), 0..5usize).prop_map(|(p, k)| Mutation::IntegerWrongType(p, k)),
        (0..STRINGS.len(), 0..4000usize).prop_map(|(p, n)| Mutation::HugeString(p, n)),
    ]
}

fn apply(v: &mut Value, m: &Mutation) {
    match m {
        Mutation::Drop(i) => {
            let (parent, key) = REQUIRED[*i].rsplit_once('/').unwrap();
            if let Some(Value::Object(o)) = v.pointer_mut(parent) {
                o.remove(key);
            }
        }
        Mutation::StringWrongType(i, k) => {
            if let Some(slot) = v.pointer_mut(STRINGS[*i]) {
                *slot = [json!(1), json!(1.5), json!(true), json!([]), json!({"a": "b"})][*k].clone();
            }
        }
        Mutation::IntegerWrongType(i, k) => {
            if let Some(slot) = v.pointer_mut(INTEGERS[*i]) {
                *slot = [json!("6"), json!(6.5), json!(false), json!([6]), json!({})][*k].clone();
            }
        }
        Mutation::HugeString(i, extra) => {
            if let Some(slot) = v.pointer_mut(STRINGS[*i]) {
                let limit = if STRINGS[*i].ends_with("apply_reason") || STRINGS[*i].ends_with("remark") { 2000 } else { 256 };
                *slot = json!("长".repeat(limit + 1 + extra));
            }
        }
    }
}

/// Byte-level damage applied after serialising.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Insert a byte that never occurs in UTF-8 at a position (mod length).
    InvalidUtf8(usize, u8),
    /// Keep only a prefix that ends before the closing brace.
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::None),
        (any::<usize>(), prop_oneof![Just(0xC0u8), Just(0xC1u8), 0xF5u8..=0xFF]).prop_map(|(p, b)| Damage::InvalidUtf8(p, b)),
        any::<usize>().prop_map(Damage::Truncate),
    ]
}

fn damaged(mut body: Vec<u8>, d: &Damage) -> Vec<u8> {
    match d {
        Damage::None => body,
        Damage::InvalidUtf8(p, b) => {
            body.insert(p % (body.len() + 1), *b);
            body
        }
        Damage::Truncate(p) => {
            let last = body.iter().rposition(|&c| c == b'}').unwrap();
            body.truncate(p % last.max(1));
            body
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// Refused with a 4xx and a message, rendered as JSON, nothing stored.
fn assert_refused(rt: &tokio::runtime::Runtime, body: &[u8]) -> Result<(), TestCaseError> {
    let e = match validate(body) {
        Ok(n) => return Err(TestCaseError::fail(format!("accepted: {}", n.apply.id))),
        Err(e) => e,
    };
    prop_assert!((400..500).contains(&status(&e)), "{e:?}");
    prop_assert!(!e.to_string().is_empty());
    let r = respond(&Err(e.clone()), "rid");
    let v: Value = serde_json::from_str(&r.body).map_err(|x| TestCaseError::fail(x.to_string()))?;
    prop_assert_eq!(v["code"].as_u64(), Some(code(&e) as u64));
    let msg = e.to_string();
    prop_assert_eq!(v["msg"].as_str(), Some(msg.as_str()));
    let store = Counting::new(MemoryStore::new());
    let now = Utc.with_ymd_and_hms(2022, 7, 10, 0, 0, 0).unwrap();
    let out = rt.block_on(receive(&store, "acme", body, now));
    prop_assert_eq!(out, Err(e));
    prop_assert_eq!(store.calls.total(), 0, "the store was not even touched");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_notices_are_refused(
        which in 0..3usize,
        mutations in prop::collection::vec(mutation(), 1..4),
        dmg in damage(),
    ) {
        let rt = runtime();
        let mut v: Value = serde_json::from_slice(&fixture(which)).unwrap();
        for m in &mutations {
            apply(&mut v, m);
        }
        let body = damaged(serde_json::to_vec_pretty(&v).unwrap(), &dmg);
        assert_refused(&rt, &body)?;
    }

    #[test]
    fn damaged_seed_bytes_are_refused(which in 0..3usize, dmg in damage()) {
        prop_assume!(!matches!(dmg, Damage::None));
        let rt = runtime();
        assert_refused(&rt, &damaged(fixture(which), &dmg))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = validate(&body) {
            prop_assert!((400..500).contains(&status(&e)));
        }
    }

    #[test]
    fn reformatting_keeps_the_digest(which in 0..3usize, pretty in any::<bool>()) {
        let raw = fixture(which);
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let again = if pretty { serde_json::to_vec_pretty(&v).unwrap() } else { serde_json::to_vec(&v).unwrap() };
        prop_assert_eq!(validate(&raw).unwrap().digest, validate(&again).unwrap().digest);
    }
}
