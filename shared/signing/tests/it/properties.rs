//! Property tests: a signature covers every byte that matters.
//!
//! * SPI: for a random official-SDK case, changing one byte of the query (anywhere but in the
//!   sign value), of a signed header value, or of the body makes verification fail, except for
//!   the mutations listed in [`QueryExpect`] / [`header_expect`] that provably leave the signed
//!   text unchanged (for those the test asserts that the request still verifies).
//! * TOP: any change to a parameter value changes the sign, except blank → blank (blank values
//!   are not signed at all).

use crate::common;

use std::sync::OnceLock;

use busgate_signing::{top_sign, verify_spi, SignMethod, SpiError};
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;

fn fx() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(fixture)
}

fn verify(case: &SpiCase, query: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), SpiError> {
    verify_spi(&request(query, headers, Some(&case.content_type), body), &case.secret)
}

// ---------------------------------------------------------------------------------------------
// A small model of how `SpiUtils` reads the query, written here independently of the library
// (Java `String.split`, `URLDecoder`, `HashMap` overwrite, sort by name). It is only used to
// decide the expected outcome of mutations that touch the separators `&` and `=`.

fn java_split(s: &str, sep: char) -> Vec<&str> {
    if !s.contains(sep) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

fn java_url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// (the signed `k1v1k2v2…` text of headers + query, the remote sign).
fn query_model(query: &str, headers: &[(String, String)]) -> (String, Option<String>) {
    let mut map = std::collections::HashMap::new();
    let find = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if let Some(list) = find("top-sign-list").filter(|l| !java_blank(l)) {
        for name in java_split(list, ',') {
            let value = find(name).filter(|v| !java_blank(v)).map(java_url_decode).unwrap_or_default();
            map.insert(name.to_string(), value);
        }
    }
    for piece in java_split(query, '&') {
        match java_split(piece, '=').as_slice() {
            [k] => {
                map.insert(java_url_decode(k), String::new());
            }
            [k, v] => {
                map.insert(java_url_decode(k), java_url_decode(v));
            }
            _ => {}
        }
    }
    let sign = map.remove("sign");
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    let text = keys.into_iter().map(|k| format!("{k}{}", map[k])).collect();
    (text, sign)
}

/// Is byte `pos` one of the two hex digits of a `%XX` escape?
fn in_escape_hex(s: &[u8], pos: usize) -> bool {
    let escape_at = |p: usize| p + 2 < s.len() && s[p] == b'%' && s[p + 1].is_ascii_hexdigit() && s[p + 2].is_ascii_hexdigit();
    (pos >= 1 && escape_at(pos - 1)) || (pos >= 2 && escape_at(pos - 2))
}

/// `Character.isWhitespace`, restated for the test.
fn java_blank(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}')
            || matches!(c, ' ' | '\u{1680}' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{205F}' | '\u{3000}')
    })
}

/// What a one-byte change of the query must do.
#[derive(Debug, PartialEq)]
enum QueryExpect {
    /// The signed text or the remote sign changes: verification fails.
    Fail,
    /// Excluded from "must fail" because the decoded text is provably the same; asserted to
    /// still verify:
    /// * the case of a hex digit inside a `%XX` escape (`%2b` and `%2B` are the same byte);
    /// * `+` ↔ a raw space: `URLDecoder` turns `+` into a space and keeps a raw space.
    SameText,
    /// The change removes or introduces a separator (`&` or `=`). The signed text has no
    /// separators (`k1v1k2v2…`), so regrouping the same characters can give the same text:
    /// `k=v` and `k&v` (two empty-valued parameters `k`, `v`, adjacent after sorting) both
    /// sign `kv`, and `k=` ↔ `k&` are the same empty value. The expected outcome is decided by
    /// the model above: verification succeeds exactly when the signed text and the remote
    /// sign are unchanged.
    Separator,
}

fn query_expect(orig: &[u8], pos: usize, new: u8) -> QueryExpect {
    let old = orig[pos];
    let hex_case = in_escape_hex(orig, pos) && old.eq_ignore_ascii_case(&new);
    let plus_space = matches!((old, new), (b'+', b' ') | (b' ', b'+'));
    if hex_case || plus_space {
        QueryExpect::SameText
    } else if matches!(old, b'&' | b'=') || matches!(new, b'&' | b'=') {
        QueryExpect::Separator
    } else {
        QueryExpect::Fail
    }
}

/// Whether a one-byte change of a signed header value must leave the request valid. Header
/// values have no separators, but `SpiUtils` tests blankness on the raw value before decoding.
/// Excluded from "must fail" (and asserted to verify):
/// * the case of a hex digit inside a `%XX` escape;
/// * `+` ↔ raw space when neither value is blank (both decode to a space);
/// * a blank value changed into another blank value (both sign as "").
fn header_expect_verifies(old_value: &str, new_value: &str, pos: usize) -> bool {
    let (o, n) = (old_value.as_bytes(), new_value.as_bytes());
    let hex_case = in_escape_hex(o, pos) && o[pos].eq_ignore_ascii_case(&n[pos]);
    let plus_space = matches!((o[pos], n[pos]), (b'+', b' ') | (b' ', b'+')) && !java_blank(old_value) && !java_blank(new_value);
    hex_case || plus_space || (java_blank(old_value) && java_blank(new_value))
}

fn mutate(s: &str, pos: usize, byte: u8) -> String {
    let mut b = s.as_bytes().to_vec();
    b[pos] = byte;
    String::from_utf8(b).expect("an ASCII byte replacing an ASCII byte keeps UTF-8")
}

/// Cases that have at least one non-empty signed header value: (case, header index).
fn signed_header_slots() -> &'static [(usize, usize)] {
    static SLOTS: OnceLock<Vec<(usize, usize)>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let mut slots = Vec::new();
        for (ci, case) in fx().spi.iter().enumerate() {
            for name in case.signed_header_names() {
                // The header actually read: the first of that name, in any case.
                if let Some(hi) = case.headers.iter().position(|(k, _)| k.eq_ignore_ascii_case(&name)) {
                    if !case.headers[hi].1.is_empty() && !slots.contains(&(ci, hi)) {
                        slots.push((ci, hi));
                    }
                }
            }
        }
        slots
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn spi_query_byte_change(case in 0usize..100, pos in any::<Index>(), byte in 0u8..0x80) {
        let case = &fx().spi[case];
        let original = case.signed_query();
        prop_assert!(original.is_ascii());
        // Everything up to and including `&sign=`; the sign value itself is not mutated.
        let mutable = case.raw_query.len() + "&sign=".len();
        let pos = pos.index(mutable);
        prop_assume!(original.as_bytes()[pos] != byte);
        let mutated = mutate(&original, pos, byte);
        let result = verify(case, &mutated, &case.headers, &case.body());
        match query_expect(original.as_bytes(), pos, byte) {
            QueryExpect::Fail => prop_assert!(result.is_err(), "{mutated} still verifies"),
            QueryExpect::SameText => prop_assert_eq!(result, Ok(()), "{}", mutated),
            QueryExpect::Separator => {
                let same = query_model(&mutated, &case.headers) == query_model(&original, &case.headers);
                prop_assert_eq!(result.is_ok(), same, "{} (model: same text {})", mutated, same);
            }
        }
    }

    #[test]
    fn spi_signed_header_byte_change(slot in any::<Index>(), pos in any::<Index>(), byte in 0u8..0x80) {
        let slots = signed_header_slots();
        prop_assert!(!slots.is_empty());
        let (ci, hi) = slots[slot.index(slots.len())];
        let case = &fx().spi[ci];
        let name = &case.headers[hi].0;
        // A query parameter of the same name would override the header (none in the fixture).
        prop_assume!(!busgate_signing::parse_query(&case.raw_query).contains_key(name.as_str()));
        let old_value = &case.headers[hi].1;
        prop_assert!(old_value.is_ascii());
        let pos = pos.index(old_value.len());
        prop_assume!(old_value.as_bytes()[pos] != byte);
        let new_value = mutate(old_value, pos, byte);
        let mut headers = case.headers.clone();
        headers[hi].1 = new_value.clone();
        let result = verify(case, &case.signed_query(), &headers, &case.body());
        if header_expect_verifies(old_value, &new_value, pos) {
            prop_assert_eq!(result, Ok(()), "{}: {:?} -> {:?}", name, old_value, new_value);
        } else {
            prop_assert_eq!(result, Err(SpiError::Mismatch), "{}: {:?} -> {:?}", name, old_value, new_value);
        }
    }

    #[test]
    fn spi_body_byte_change(case in 0usize..100, pos in any::<Index>(), byte in any::<u8>()) {
        // The body is signed verbatim: every byte change fails, no exception.
        let case = &fx().spi[case];
        let mut body = case.body();
        prop_assume!(!body.is_empty());
        let pos = pos.index(body.len());
        prop_assume!(body[pos] != byte);
        body[pos] = byte;
        prop_assert_eq!(verify(case, &case.signed_query(), &case.headers, &body), Err(SpiError::Mismatch));
    }

    #[test]
    fn top_value_change_changes_sign(
        case in 0usize..100,
        param in any::<Index>(),
        pos in any::<Index>(),
        kind in 0u8..3,
        ch in any::<char>(),
    ) {
        let case = &fx().top[case];
        let mut params = case.pairs();
        let slot = param.index(params.len());
        let old: Vec<char> = params[slot].1.chars().collect();
        let mut new = old.clone();
        match kind {
            0 if !new.is_empty() => { let i = pos.index(new.len()); new[i] = ch; }
            1 => { let i = pos.index(new.len() + 1); new.insert(i, ch); }
            _ if !new.is_empty() => { new.remove(pos.index(new.len())); }
            _ => new.push(ch),
        }
        prop_assume!(new != old);
        let (old, new): (String, String) = (old.into_iter().collect(), new.into_iter().collect());
        params[slot].1 = new.clone();
        let sign = top_sign(&params, None, &case.secret, case.method());
        prop_assert_eq!(top_sign(&case.pairs(), None, &case.secret, case.method()), case.sign.clone());
        if java_blank(&old) && java_blank(&new) {
            // Blank values are not signed (T8): still the same sign.
            prop_assert_eq!(sign, case.sign.clone());
        } else {
            prop_assert_ne!(sign, case.sign.clone(), "{}: {:?} -> {:?}", params[slot].0, old, new);
        }
    }

    #[test]
    fn top_random_params_value_change_changes_sign(
        params in prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 1..8),
        method in prop::sample::select(vec![SignMethod::Md5, SignMethod::Hmac, SignMethod::HmacSha256]),
        secret in "\\PC{0,10}",
        which in any::<Index>(),
        ch in any::<char>(),
    ) {
        prop_assume!(!params.contains_key("sign"));
        let pairs: Vec<(String, String)> = params.into_iter().collect();
        let before = top_sign(&pairs, None, &secret, method);
        let mut changed = pairs.clone();
        let slot = which.index(changed.len());
        changed[slot].1.push(ch);
        let old = &pairs[slot].1;
        let new = &changed[slot].1;
        let after = top_sign(&changed, None, &secret, method);
        if java_blank(old) && java_blank(new) {
            prop_assert_eq!(after, before);
        } else {
            prop_assert_ne!(after, before);
        }
    }
}

#[test]
fn query_model_agrees_with_the_fixture() {
    // The model must itself see every fixture query as carrying its sign.
    for case in &fx().spi {
        assert_eq!(query_model(&case.signed_query(), &case.headers).1.as_deref(), Some(case.sign.as_str()));
    }
    // And it captures the two regroupings the doc comment describes...
    assert_eq!(query_model("k=v", &[]).0, query_model("k&v", &[]).0);
    assert_eq!(query_model("a=1&k=", &[]).0, query_model("a=1&k&", &[]).0);
    // ...which a signed header sorting between the two names breaks.
    let headers = [("top-sign-list".to_string(), "m".to_string()), ("m".to_string(), "1".to_string())];
    assert_ne!(query_model("k=v", &headers).0, query_model("k&v", &headers).0);
}

#[test]
fn equivalent_mutation_examples() {
    // The exclusions are real: each of these verifies although a byte changed.
    let case = fx().spi.iter().find(|c| c.raw_query.contains("%2B")).expect("a case with %2B");
    let lower = case.signed_query().replacen("%2B", "%2b", 1);
    assert_eq!(verify(case, &lower, &case.headers, &case.body()), Ok(()));
    let case = fx().spi.iter().find(|c| c.raw_query.contains('+')).expect("a case with +");
    let pos = case.raw_query.find('+').unwrap();
    let spaced = mutate(&case.signed_query(), pos, b' ');
    assert_eq!(verify(case, &spaced, &case.headers, &case.body()), Ok(()));
    // `kl=mr` regrouped as `kl&mr`: both sign `klmr` (MD5("s" + "klmr" + "{}" + "s"), Python hashlib).
    let headers = Vec::new();
    let sign = "0DD0A10E75A6244693D9923FFB24BD21";
    for query in [format!("kl=mr&sign={sign}"), format!("kl&mr&sign={sign}")] {
        assert_eq!(verify_spi(&request(&query, &headers, Some(JSON_UTF8), b"{}"), "s"), Ok(()), "{query}");
    }
}
