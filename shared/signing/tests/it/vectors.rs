//! The published vectors (qimen-top.md §5), the 200 official-SDK cases and the negative cases.

use crate::common;

use busgate_signing::{parse_query, spi_sign, top_sign, verify_spi, SignMethod, SpiError};
use common::*;

fn no_headers() -> Vec<(String, String)> {
    Vec::new()
}

// ---------------------------------------------------------------------------------------------
// §5.1 TOP signing

fn t3_params(sign_method: &str) -> Vec<(&'static str, String)> {
    vec![
        ("method", "taobao.item.seller.get".into()),
        ("app_key", "12345678".into()),
        ("session", "test".into()),
        ("timestamp", "2016-01-01 12:00:00".into()),
        ("format", "json".into()),
        ("v", "2.0".into()),
        ("sign_method", sign_method.into()),
        ("fields", "num_iid,title,nick,price,num".into()),
        ("num_iid", "11223344".into()),
    ]
}

fn t5_params(sign_method: &str) -> Vec<(&'static str, String)> {
    vec![
        ("method", "taobao.bus.agent.bookticket.confirm".into()),
        ("app_key", "12345678".into()),
        ("session", "test".into()),
        ("timestamp", "2016-01-01 12:00:00".into()),
        ("format", "json".into()),
        ("v", "2.0".into()),
        ("simplify", "true".into()),
        ("sign_method", sign_method.into()),
        (
            "param_agent_confirm_book_r_q",
            r#"{"agent_order_id":"3232323","success":true,"ticket_count":1,"fetch_tickets_address":"xxx汽车站"}"#.into(),
        ),
    ]
}

#[test]
fn t3_hmac_md5() {
    assert_eq!(top_sign(&t3_params("hmac"), None, SECRET, SignMethod::Hmac), "D56D7858309C31B6251083A874D48273");
}

#[test]
fn t4_hmac_sha256() {
    assert_eq!(
        top_sign(&t3_params("hmac-sha256"), None, SECRET, SignMethod::HmacSha256),
        "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"
    );
}

#[test]
fn t5a_md5_with_json_param() {
    assert_eq!(top_sign(&t5_params("md5"), None, SECRET, SignMethod::Md5), "3CB936EF323E3280FF5114A2D46F1153");
}

#[test]
fn t5b_hmac_sha256_with_json_param() {
    assert_eq!(
        top_sign(&t5_params("hmac-sha256"), None, SECRET, SignMethod::HmacSha256),
        "5E916433C34C166091579F57DCF0F5FD6A93664A1361A819F9E3207D8FA2E41A"
    );
}

#[test]
fn t6_rfc2202_hmac_md5() {
    // Key 0x0b × 16: control characters, but valid one-byte UTF-8, so a &str carries them.
    let key = "\u{0b}".repeat(16);
    assert_eq!(key.as_bytes(), &[0x0b; 16]);
    // The data "Hi There" is the concatenation of the single parameter `Hi` = ` There`.
    assert_eq!(top_sign(&[("Hi", " There")], None, &key, SignMethod::Hmac), "9294727A3638BB1C13F48EF8158BFC9D");
}

#[test]
fn t7_rfc4231_hmac_sha256() {
    let key = "\u{0b}".repeat(20);
    assert_eq!(key.as_bytes(), &[0x0b; 20]);
    assert_eq!(top_sign(&[("Hi", " There")], None, &key, SignMethod::HmacSha256), "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7");
}

#[test]
fn t8_blank_values_and_names_are_not_signed() {
    for method in [SignMethod::Md5, SignMethod::Hmac, SignMethod::HmacSha256] {
        let reference = top_sign(&[("a", "x")], None, SECRET, method);
        assert_eq!(top_sign(&[("a", "x"), ("b", "")], None, SECRET, method), reference);
        // Whitespace-only is blank too (Java `Character.isWhitespace`), including U+3000 and
        // the C0 separators, but not the no-break space.
        assert_eq!(top_sign(&[("a", "x"), ("b", " \t\r\n\u{3000}\u{1f}")], None, SECRET, method), reference);
        assert_eq!(top_sign(&[("a", "x"), (" ", "y")], None, SECRET, method), reference);
        assert_ne!(top_sign(&[("a", "x"), ("b", "\u{a0}")], None, SECRET, method), reference);
        // `sign` itself is never signed.
        assert_eq!(top_sign(&[("a", "x"), ("sign", "ABC")], None, SECRET, method), reference);
    }
}

#[test]
fn top_sign_sorts_by_name_and_uses_raw_values() {
    // Doc example: foo:1, bar:2, foo_bar:3, foobar:4 -> bar2foo1foo_bar3foobar4.
    let shuffled = [("foo", "1"), ("bar", "2"), ("foo_bar", "3"), ("foobar", "4")];
    let sorted = [("bar", "2"), ("foo", "1"), ("foo_bar", "3"), ("foobar", "4")];
    assert_eq!(top_sign(&shuffled, None, SECRET, SignMethod::Md5), top_sign(&sorted, None, SECRET, SignMethod::Md5));
    // MD5(secret + "bar2foo1foo_bar3foobar4" + secret), computed with Python hashlib.
    assert_eq!(top_sign(&shuffled, None, SECRET, SignMethod::Md5), "5AAF1C690262A24768F5478B084C2C8A");
}

#[test]
fn top_sign_repeated_name_last_non_blank_value_wins() {
    // TaobaoHashMap.put: a later value replaces an earlier one; a blank one is ignored.
    let expected = top_sign(&[("a", "2")], None, SECRET, SignMethod::Md5);
    assert_eq!(top_sign(&[("a", "1"), ("a", "2")], None, SECRET, SignMethod::Md5), expected);
    assert_eq!(top_sign(&[("a", "2"), ("a", " ")], None, SECRET, SignMethod::Md5), expected);
}

#[test]
fn top_sign_with_body_equals_qimen_request_sign() {
    // signTopRequestWithBody (md5) and SpiUtils compute the same string when no value is
    // empty: S1 signed from the client side gives the S1 sign.
    let params: Vec<(String, String)> = parse_query(S1_QUERY).into_iter().collect();
    assert_eq!(top_sign(&params, Some(S1_BODY.as_bytes()), SECRET, SignMethod::Md5), S1_SIGN);
}

#[test]
fn sign_method_names_round_trip() {
    for m in [SignMethod::Md5, SignMethod::Hmac, SignMethod::HmacSha256] {
        assert_eq!(m.as_str().parse::<SignMethod>(), Ok(m));
    }
    assert!("HMAC".parse::<SignMethod>().is_err());
    assert!("sha256".parse::<SignMethod>().is_err());
}

#[test]
fn official_sdk_top_cases() {
    let fixture = fixture();
    assert_eq!(fixture.top.len(), 100);
    for (i, case) in fixture.top.iter().enumerate() {
        let got = top_sign(&case.pairs(), None, &case.secret, case.method());
        assert_eq!(got, case.sign, "top[{i}] {case:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// §5.2 Qimen SPI verification

#[test]
fn s1_json_body() {
    let query = format!("{S1_QUERY}&sign={S1_SIGN}");
    let h = no_headers();
    let req = request(&query, &h, Some(JSON_UTF8), S1_BODY.as_bytes());
    assert_eq!(spi_sign(&req, SECRET).unwrap(), S1_SIGN);
    assert_eq!(verify_spi(&req, SECRET), Ok(()));
    // The sign may come anywhere in the query.
    let first = format!("sign={S1_SIGN}&{S1_QUERY}");
    assert_eq!(verify_spi(&request(&first, &h, Some(JSON_UTF8), S1_BODY.as_bytes()), SECRET), Ok(()));
}

#[test]
fn s2_empty_query_value_is_kept() {
    let query = format!("{S2_QUERY}&sign={S2_SIGN}");
    let h = no_headers();
    let req = request(&query, &h, Some(JSON_UTF8), S2_BODY.as_bytes());
    assert_eq!(spi_sign(&req, SECRET).unwrap(), S2_SIGN);
    assert_eq!(verify_spi(&req, SECRET), Ok(()));
    // `extra` (no `=`) reads like `extra=`; dropping it changes the string.
    let bare = query.replace("extra=&", "extra&");
    assert_eq!(verify_spi(&request(&bare, &h, Some(JSON_UTF8), S2_BODY.as_bytes()), SECRET), Ok(()));
    let dropped = query.replace("extra=&", "");
    assert_eq!(verify_spi(&request(&dropped, &h, Some(JSON_UTF8), S2_BODY.as_bytes()), SECRET), Err(SpiError::Mismatch));
}

#[test]
fn s3_form_fields_are_signed() {
    let query = format!("{S3_QUERY}&sign={S3_SIGN}");
    let h = no_headers();
    let req = request(&query, &h, Some(FORM), S3_FORM.as_bytes());
    assert_eq!(spi_sign(&req, SECRET).unwrap(), S3_SIGN);
    assert_eq!(verify_spi(&req, SECRET), Ok(()));
    // With a charset parameter too, and in another field order.
    let reordered = "op_type=UPDATE&item_id=1234565";
    let req = request(&query, &h, Some("application/x-www-form-urlencoded; charset=UTF-8"), reordered.as_bytes());
    assert_eq!(verify_spi(&req, SECRET), Ok(()));
    // A form field already in the query is taken from the query.
    let shadowed = format!("{S3_FORM}&v=9.9");
    assert_eq!(verify_spi(&request(&query, &h, Some(FORM), shadowed.as_bytes()), SECRET), Ok(()));
    // A changed form field fails.
    let changed = "item_id=1234566&op_type=UPDATE";
    assert_eq!(verify_spi(&request(&query, &h, Some(FORM), changed.as_bytes()), SECRET), Err(SpiError::Mismatch));
}

#[test]
fn official_sdk_spi_cases_verify() {
    let fixture = fixture();
    assert_eq!(fixture.spi.len(), 100);
    assert!(fixture.spi.iter().any(|c| !c.headers.is_empty()), "the fixture has header cases");
    for (i, case) in fixture.spi.iter().enumerate() {
        let query = case.signed_query();
        let body = case.body();
        let req = request(&query, &case.headers, Some(&case.content_type), &body);
        assert_eq!(spi_sign(&req, &case.secret).as_deref(), Ok(case.sign.as_str()), "spi[{i}] {case:?}");
        assert_eq!(verify_spi(&req, &case.secret), Ok(()), "spi[{i}]");
        assert_eq!(verify_spi(&req, &format!("{}x", case.secret)), Err(SpiError::Mismatch), "spi[{i}] other secret");
    }
}

// ---------------------------------------------------------------------------------------------
// Negative cases (§5.2)

fn s1_verify(query: &str, body: &str, ct: Option<&str>) -> Result<(), SpiError> {
    let h = no_headers();
    verify_spi(&request(query, &h, ct, body.as_bytes()), SECRET)
}

#[test]
fn s1_reserialised_body_fails() {
    let query = format!("{S1_QUERY}&sign={S1_SIGN}");
    let spaced = r#"{"fromCityName": "北京", "toStationName": "古北水镇", "departDate": "2018-08-08"}"#;
    assert_eq!(s1_verify(&query, spaced, Some(JSON_UTF8)), Err(SpiError::Mismatch));
    let newline = format!("{S1_BODY}\n");
    assert_eq!(s1_verify(&query, &newline, Some(JSON_UTF8)), Err(SpiError::Mismatch));
    let escaped = r#"{"fromCityName":"\u5317\u4eac","toStationName":"古北水镇","departDate":"2018-08-08"}"#;
    assert_eq!(s1_verify(&query, escaped, Some(JSON_UTF8)), Err(SpiError::Mismatch));
}

#[test]
fn s1_lower_case_sign_fails() {
    let query = format!("{S1_QUERY}&sign={}", S1_SIGN.to_lowercase());
    assert_eq!(s1_verify(&query, S1_BODY, Some(JSON_UTF8)), Err(SpiError::Mismatch));
}

#[test]
fn s1_sign_moved_to_body_fails() {
    // The remote sign is read from the query only.
    let with_sign = format!(r#"{{"sign":"{S1_SIGN}",{}"#, &S1_BODY[1..]);
    assert_eq!(s1_verify(S1_QUERY, &with_sign, Some(JSON_UTF8)), Err(SpiError::MissingSign));
    assert_eq!(s1_verify(S1_QUERY, S1_BODY, Some(JSON_UTF8)), Err(SpiError::MissingSign));
    // In a form body, where fields are read, still not.
    let form = format!("{S3_FORM}&sign={S3_SIGN}");
    let h = no_headers();
    assert_eq!(verify_spi(&request(S3_QUERY, &h, Some(FORM), form.as_bytes()), SECRET), Err(SpiError::MissingSign));
    // Nor from a header, even a signed one.
    let headers = vec![("top-sign-list".to_string(), "sign".to_string()), ("sign".to_string(), S1_SIGN.to_string())];
    assert_eq!(verify_spi(&request(S1_QUERY, &headers, Some(JSON_UTF8), S1_BODY.as_bytes()), SECRET), Err(SpiError::MissingSign));
}

#[test]
fn missing_or_empty_sign_is_rejected() {
    assert_eq!(s1_verify(S1_QUERY, S1_BODY, Some(JSON_UTF8)), Err(SpiError::MissingSign));
    assert_eq!(s1_verify("", S1_BODY, Some(JSON_UTF8)), Err(SpiError::MissingSign));
    assert_eq!(s1_verify(&format!("{S1_QUERY}&sign="), S1_BODY, Some(JSON_UTF8)), Err(SpiError::Mismatch));
    assert_eq!(s1_verify(&format!("{S1_QUERY}&sign"), S1_BODY, Some(JSON_UTF8)), Err(SpiError::Mismatch));
}

#[test]
fn unsupported_content_types_are_rejected() {
    let query = format!("{S1_QUERY}&sign={S1_SIGN}");
    for ct in ["multipart/form-data; boundary=xyz", "application/octet-stream", ""] {
        assert!(matches!(s1_verify(&query, S1_BODY, Some(ct)), Err(SpiError::UnsupportedContentType(_))), "{ct}");
    }
    assert!(matches!(s1_verify(&query, S1_BODY, None), Err(SpiError::UnsupportedContentType(_))));
    // Only UTF-8 bodies are accepted.
    assert!(matches!(s1_verify(&query, S1_BODY, Some("application/json;charset=GBK")), Err(SpiError::UnsupportedCharset(_))));
}

#[test]
fn text_types_sign_the_body() {
    // The four text types the official verifier accepts all append the body.
    let h = no_headers();
    let query = format!("{S1_QUERY}&sign={S1_SIGN}");
    for ct in ["application/json", "application/json; charset=utf-8", "text/xml", "application/xml", "text/plain"] {
        assert_eq!(verify_spi(&request(&query, &h, Some(ct), S1_BODY.as_bytes()), SECRET), Ok(()), "{ct}");
    }
}

#[test]
fn other_query_changes_fail() {
    let h = no_headers();
    let body = S1_BODY.as_bytes();
    for query in [
        format!("{S1_QUERY}&extra=1&sign={S1_SIGN}"),
        format!("{S1_QUERY}&extra=&sign={S1_SIGN}"),
        format!("{}&sign={S1_SIGN}", S1_QUERY.replace("v=2.0", "v=2.1")),
        format!("{}&sign={S1_SIGN}", S1_QUERY.replace("+12", "%2B12")),
        // An unescaped `=` in a value makes SpiUtils ignore the parameter.
        format!("{}&sign={S1_SIGN}", S1_QUERY.replace("format=json", "format=js=on")),
    ] {
        assert_eq!(verify_spi(&request(&query, &h, Some(JSON_UTF8), body), SECRET), Err(SpiError::Mismatch), "{query}");
    }
    // Encodings that decode to the same text are the same request.
    for query in [
        format!("{}&sign={S1_SIGN}", S1_QUERY.replace("+12", "%2012").replace("%3A", "%3a")),
        format!("{}&sign={S1_SIGN}", S1_QUERY.replace("app_key", "%61pp_key")),
        // Java `String.split` drops trailing empty pieces; an empty piece adds nothing.
        format!("{S1_QUERY}&&sign={S1_SIGN}&"),
    ] {
        assert_eq!(verify_spi(&request(&query, &h, Some(JSON_UTF8), body), SECRET), Ok(()), "{query}");
    }
}

#[test]
fn parse_query_mirrors_java_split() {
    let q = parse_query("a=1&b=&c&d=x=y&=e&f==&&g=%E4%B8%AD+%2B&a=2");
    let got: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // `d=x=y` has three parts: ignored. `f==` splits to ["f"]. The empty piece between `&&`
    // is [""]: key "" with value "", which overwrites `=e`. Later `a` wins.
    assert_eq!(got, vec![("", ""), ("a", "2"), ("b", ""), ("c", ""), ("f", ""), ("g", "中 +")]);
    // "=" and "==" split to nothing and are ignored.
    assert_eq!(parse_query("=e&=").get(""), Some(&"e".to_string()));
}

// ---------------------------------------------------------------------------------------------
// `top-sign-list` headers (no published vector: built from §2.2 and checked with Python hashlib)

const H_QUERY: &str = "app_key=12345678&method=qimen.alitrip.bus.product.querystation&sign_method=md5&timestamp=2023-08-01+12%3A00%3A00&v=2.0";
const H_BODY: &str = r#"{"cityName":"香港","cityCode":"810100"}"#;
/// MD5 of `helloworld` `X-Qimen-Traceabc+1 中` `app_key12345678`
/// `methodqimen.alitrip.bus.product.querystation` `sign_methodmd5`
/// `timestamp2023-08-01 12:00:00` `v2.0` `x-biz-tagv=1` `x-blank` `x-missing`, the body and
/// `helloworld`: names exactly as written in `top-sign-list` (so `X-Qimen-Trace` sorts before
/// the lower-case names), values URL-decoded, missing and blank headers as "".
const H_SIGN: &str = "4484AF873B416BABE698B832A03C2E8E";

fn h_headers() -> Vec<(String, String)> {
    [
        ("Top-Sign-List", "X-Qimen-Trace,x-biz-tag,x-missing,x-blank"),
        ("x-qimen-trace", "abc%2B1+%E4%B8%AD"),
        ("X-BIZ-TAG", "v%3D1"),
        ("x-blank", "  "),
        ("x-unsigned", "zzz"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn h_verify(headers: &[(String, String)], query: &str) -> Result<(), SpiError> {
    verify_spi(&request(query, headers, Some(JSON_UTF8), H_BODY.as_bytes()), SECRET)
}

fn set_header(headers: &mut [(String, String)], name: &str, value: &str) {
    headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)).expect("header present").1 = value.to_string();
}

#[test]
fn top_sign_list_headers_are_signed() {
    let query = format!("{H_QUERY}&sign={H_SIGN}");
    let headers = h_headers();
    assert_eq!(spi_sign(&request(&query, &headers, Some(JSON_UTF8), H_BODY.as_bytes()), SECRET).unwrap(), H_SIGN);
    assert_eq!(h_verify(&headers, &query), Ok(()));
}

#[test]
fn top_sign_list_header_names_are_case_insensitive() {
    let query = format!("{H_QUERY}&sign={H_SIGN}");
    // The request's header names can be in any case (HTTP/2 lower-cases them all)...
    for transform in [str::to_ascii_lowercase as fn(&str) -> String, str::to_ascii_uppercase] {
        let headers: Vec<(String, String)> = h_headers().into_iter().map(|(k, v)| (transform(&k), v)).collect();
        assert_eq!(h_verify(&headers, &query), Ok(()));
    }
    // ...but the names in the list are signed as written: changing their case changes the sign.
    let mut headers = h_headers();
    set_header(&mut headers, "top-sign-list", "x-qimen-trace,x-biz-tag,x-missing,x-blank");
    assert_eq!(h_verify(&headers, &query), Err(SpiError::Mismatch));
}

#[test]
fn top_sign_list_header_changes() {
    let query = format!("{H_QUERY}&sign={H_SIGN}");
    // An unsigned header does not matter.
    let mut headers = h_headers();
    set_header(&mut headers, "x-unsigned", "other");
    assert_eq!(h_verify(&headers, &query), Ok(()));
    // A blank header is "", like a missing one; a missing one is "" too.
    let mut headers = h_headers();
    set_header(&mut headers, "x-blank", "\t");
    assert_eq!(h_verify(&headers, &query), Ok(()));
    let mut headers = h_headers();
    headers.push(("x-missing".into(), "".into()));
    assert_eq!(h_verify(&headers, &query), Ok(()));
    // The value is URL-decoded before signing: another encoding of the same text verifies.
    let mut headers = h_headers();
    set_header(&mut headers, "x-qimen-trace", "abc%2b1%20%e4%b8%ad");
    assert_eq!(h_verify(&headers, &query), Ok(()));
    // A signed value changed, a missing header now present, the list removed or shortened: fail.
    for (name, value) in [
        ("x-qimen-trace", "abc+1+%E4%B8%AD"),
        ("x-biz-tag", "v=2"),
        ("x-blank", "+"),
        ("top-sign-list", "X-Qimen-Trace,x-biz-tag,x-missing"),
        ("top-sign-list", ""),
    ] {
        let mut headers = h_headers();
        set_header(&mut headers, name, value);
        assert_eq!(h_verify(&headers, &query), Err(SpiError::Mismatch), "{name}: {value}");
    }
    let mut headers = h_headers();
    headers.push(("X-Missing".into(), "now-here".into()));
    assert_eq!(h_verify(&headers, &query), Err(SpiError::Mismatch));
    let headers: Vec<(String, String)> = h_headers().into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("top-sign-list")).collect();
    assert_eq!(h_verify(&headers, &query), Err(SpiError::Mismatch));
}

#[test]
fn query_parameters_override_headers_of_the_same_name() {
    // `v` is also named as a header; the query's `v=2.0` wins, so the sign is unchanged.
    let query = format!("{H_QUERY}&sign={H_SIGN}");
    let mut headers = h_headers();
    set_header(&mut headers, "top-sign-list", "X-Qimen-Trace,x-biz-tag,x-missing,x-blank,v");
    headers.push(("v".into(), "9.9".into()));
    assert_eq!(h_verify(&headers, &query), Ok(()));
}

#[test]
fn names_sort_like_java_strings() {
    // Java sorts by UTF-16 code units: U+1F600 (surrogates D83D DE00) before U+FF21, although
    // its UTF-8 bytes sort after. MD5("helloworld" + "😀2" + "Ａ1" + "helloworld"), Python hashlib.
    let params = [("\u{FF21}", "1"), ("\u{1F600}", "2")];
    assert_eq!(top_sign(&params, None, SECRET, SignMethod::Md5), "7B285B3EBC51CB5262704ADEA30628D1");
    let query = "%EF%BC%A1=1&%F0%9F%98%80=2&sign=7B285B3EBC51CB5262704ADEA30628D1";
    let h = no_headers();
    assert_eq!(verify_spi(&request(query, &h, Some("text/plain"), b""), SECRET), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Parity with `SpiUtils.checkSign` on the Content-Type's charset and on blank form values

/// S1's query and body with ASCII-only values, and its sign under UTF-8.
fn ascii_request() -> (String, &'static [u8], String) {
    let query = "app_key=12345678&method=qimen.alitrip.custombus.product.fromcity.query&sign_method=md5&timestamp=2023-08-01+12%3A00%3A00&v=2.0";
    let body: &'static [u8] = br#"{"fromCity":"shanghai"}"#;
    let sign = spi_sign(&request(query, &no_headers(), Some(JSON_UTF8), body), SECRET).unwrap();
    (query.to_string(), body, sign)
}

#[test]
fn charset_is_read_as_the_sdk_reads_it() {
    let (query, body, sign) = ascii_request();
    let h = no_headers();
    let signed = format!("{query}&sign={sign}");
    // `getResponseCharset` matches `charset` case-sensitively: `Charset=GBK` is ignored (UTF-8),
    // as are a blank value and a parameter without `=`.
    for ct in ["application/json;Charset=GBK", "application/json;charset=", "application/json; charset", "application/json;CHARSET=x"] {
        assert_eq!(verify_spi(&request(&signed, &h, Some(ct), body), SECRET), Ok(()), "{ct}");
    }
    // Java aliases of UTF-8, any case.
    for ct in ["application/json;charset=UTF8", "application/json; charset=Utf-8"] {
        assert_eq!(verify_spi(&request(&signed, &h, Some(ct), body), SECRET), Ok(()), "{ct}");
    }
    // An ASCII-compatible charset signs ASCII content exactly as UTF-8 does.
    for ct in ["application/json;charset=GBK", "application/json;charset=ISO-8859-1", "application/json; charset=us-ascii"] {
        assert_eq!(verify_spi(&request(&signed, &h, Some(ct), body), SECRET), Ok(()), "{ct}");
    }
    // Java refuses a quoted or unknown charset name: so does Busgate.
    for ct in [r#"application/json;charset="utf-8""#, "application/json;charset=x-klingon"] {
        assert!(matches!(verify_spi(&request(&signed, &h, Some(ct), body), SECRET), Err(SpiError::UnsupportedCharset(_))), "{ct}");
    }
}

#[test]
fn non_ascii_content_under_another_charset_is_refused() {
    // S1's body is Chinese UTF-8: under GBK the SDK would sign other bytes; Busgate parses UTF-8
    // JSON only, so it refuses rather than verify one text and parse another.
    let query = format!("{S1_QUERY}&sign={S1_SIGN}");
    assert!(matches!(
        verify_spi(&request(&query, &no_headers(), Some("application/json;charset=GBK"), S1_BODY.as_bytes()), SECRET),
        Err(SpiError::UnsupportedCharset(_))
    ));
}

#[test]
fn whitespace_only_form_values_are_signed_as_empty() {
    let h = no_headers();
    let query = "app_key=12345678&method=m&timestamp=2023-08-01+12%3A00%3A00";
    let form = "application/x-www-form-urlencoded;charset=utf-8";
    let sign_empty = spi_sign(&request(query, &h, Some(form), b"note=&x=1"), SECRET).unwrap();
    for blank in ["note=+&x=1", "note=%20%20&x=1", "note=%09&x=1"] {
        assert_eq!(spi_sign(&request(query, &h, Some(form), blank.as_bytes()), SECRET).unwrap(), sign_empty, "{blank}");
    }
    // A value with content keeps its spaces.
    assert_ne!(spi_sign(&request(query, &h, Some(form), b"note=+a&x=1"), SECRET).unwrap(), sign_empty);
}
