//! Signatures of Alibaba's open platform, byte-exact with the official Java SDK.
//!
//! * [`top_sign`]: signing of outbound TOP API calls (`TaobaoUtils.signTopRequest`), for the
//!   callbacks Busgate sends to Fliggy.
//! * [`spi_sign`] / [`verify_spi`]: verification of inbound Qimen SPI calls
//!   (`SpiUtils.checkSign`), computed over the raw query and body bytes before any parsing.
//! * [`check_timestamp`]: the staleness check of `SpiUtils.checkTimestamp` (GMT+8).
//! * [`fenbeitong`]: the signed form of Fenbeitong's open API calls (partners.md §2.5), for
//!   the operator's decisions on refund/rebook notices.
//!
//! The rules and vectors are in `qimen-top.md` (§1.4, §2.2, §2.3, §5); the tests run every
//! published vector and the 200 cases computed by the official SDK.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A secret value (a signing key, a session, a token); `Debug` prints `***`, never the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(v: impl Into<String>) -> Self {
        Secret(v.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "***" })
    }
}

/// How a TOP request is signed (`sign_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    /// `md5`: MD5(secret + params + secret).
    Md5,
    /// `hmac`: HMAC-MD5 keyed by the secret.
    Hmac,
    /// `hmac-sha256`: HMAC-SHA256 keyed by the secret.
    HmacSha256,
}

impl SignMethod {
    /// The wire name, as sent in `sign_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "md5",
            SignMethod::Hmac => "hmac",
            SignMethod::HmacSha256 => "hmac-sha256",
        }
    }
}

impl std::str::FromStr for SignMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md5" => Ok(SignMethod::Md5),
            "hmac" => Ok(SignMethod::Hmac),
            "hmac-sha256" => Ok(SignMethod::HmacSha256),
            other => Err(format!("unknown sign method `{other}` (md5, hmac, hmac-sha256)")),
        }
    }
}

/// Java's `StringUtils.isEmpty`: empty or only whitespace (`Character.isWhitespace`).
fn is_blank(s: &str) -> bool {
    s.chars().all(java_is_whitespace)
}

/// `Character.isWhitespace`: Unicode space separators except the non-breaking ones, plus the
/// ASCII/C0 separators Java lists explicitly.
fn java_is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}')
        || (c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}') && c != '\u{85}')
}

/// Java's `String.compareTo` (what `Arrays.sort` uses): lexicographic over UTF-16 code units.
/// It equals byte order except between supplementary characters and U+E000..U+FFFF.
fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `String.split(sep)` for a one-character separator: a string without the separator
/// gives itself, otherwise trailing empty pieces are removed (all of them, possibly leaving none).
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

pub mod fenbeitong;

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xF)] as char);
    }
    out
}

fn hex_lower(bytes: &[u8]) -> String {
    hex_upper(bytes).to_ascii_lowercase()
}

/// Signs a TOP request: every parameter except `sign`, blank names and values skipped (for a
/// repeated name, the last non-blank value), sorted by name like Java strings,
/// `name1value1name2value2…`, then the optional raw body (Qimen/batch calls only).
/// Returns uppercase hex.
pub fn top_sign<K, V>(params: &[(K, V)], body: Option<&[u8]>, secret: &str, method: SignMethod) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    // `TaobaoHashMap.put` ignores blank names and values; otherwise a later value replaces an
    // earlier one, so the last non-blank value of a repeated name is the one signed.
    let mut map: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())) {
        if k != "sign" && !is_blank(k) && !is_blank(v) {
            map.insert(k, v);
        }
    }
    let mut sorted: Vec<(&str, &str)> = map.into_iter().collect();
    sorted.sort_by(|a, b| java_cmp(a.0, b.0));
    let mut data = Vec::new();
    if method == SignMethod::Md5 {
        data.extend_from_slice(secret.as_bytes());
    }
    for (k, v) in sorted {
        data.extend_from_slice(k.as_bytes());
        data.extend_from_slice(v.as_bytes());
    }
    if let Some(body) = body {
        data.extend_from_slice(body);
    }
    match method {
        SignMethod::Md5 => {
            data.extend_from_slice(secret.as_bytes());
            hex_upper(&Md5::digest(&data))
        }
        SignMethod::Hmac => {
            let mut mac = Hmac::<Md5>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
            mac.update(&data);
            hex_upper(&mac.finalize().into_bytes())
        }
        SignMethod::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
            mac.update(&data);
            hex_upper(&mac.finalize().into_bytes())
        }
    }
}

/// An inbound SPI request as it arrived: nothing decoded, nothing re-serialised.
#[derive(Debug, Clone, Copy)]
pub struct SpiRequest<'a> {
    /// The URL query exactly as sent (without the leading `?`).
    pub raw_query: &'a str,
    /// Header pairs as on the wire; looked up case-insensitively, like a servlet does.
    pub headers: &'a [(String, String)],
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The raw body bytes.
    pub body: &'a [u8],
}

/// Why an SPI request does not verify. Every variant answers `sign-check-failure`; the
/// variants exist for logs and metrics (they never carry the secret or the signed string).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiError {
    #[error("unsupported content type `{0}`")]
    UnsupportedContentType(String),
    #[error("unsupported charset `{0}` (UTF-8, or ASCII content in an ASCII-compatible charset)")]
    UnsupportedCharset(String),
    #[error("no `sign` in the query string")]
    MissingSign,
    #[error("signature mismatch")]
    Mismatch,
}

/// Body handling chosen by `SpiUtils.checkSign` from the content type.
enum Mode {
    Text,
    Form,
}

const TEXT_TYPES: [&str; 4] = ["application/json", "text/xml", "application/xml", "text/plain"];
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

fn mode_of(content_type: Option<&str>) -> Result<Mode, SpiError> {
    let ct = content_type.unwrap_or("");
    // The servlet compares content types case-insensitively (`toLowerCase` then `startsWith`).
    let lower = ct.trim_start().to_ascii_lowercase();
    if TEXT_TYPES.iter().any(|t| lower.starts_with(t)) {
        Ok(Mode::Text)
    } else if lower.starts_with(FORM_TYPE) {
        Ok(Mode::Form)
    } else {
        Err(SpiError::UnsupportedContentType(ct.to_string()))
    }
}

/// `WebUtils.getResponseCharset`, as the SDK reads it: the first `;`-separated parameter that,
/// trimmed, starts with `charset` (case-sensitive) names the charset when the value after its
/// first `=` is not blank; otherwise UTF-8. Quotes are not removed (Java then refuses the name).
fn sdk_charset(content_type: Option<&str>) -> &str {
    let Some(ct) = content_type.filter(|c| !is_blank(c)) else { return "UTF-8" };
    for param in ct.split(';') {
        let param = param.trim();
        if param.starts_with("charset") {
            return match param.split_once('=') {
                Some((_, v)) if !is_blank(v) => v.trim(),
                _ => "UTF-8",
            };
        }
    }
    "UTF-8"
}

/// How the SDK's charset changes the digest: UTF-8 (and its Java aliases) signs the bytes as
/// they are; an ASCII-compatible charset Java knows signs the same bytes as long as everything
/// signed is ASCII, which is all Busgate accepts under it (its JSON is UTF-8). A name Java does
/// not know makes `checkSign` throw: refused, like any non-ASCII content under such a charset.
enum Charset {
    Utf8,
    AsciiOnly(String),
}

fn charset_of(content_type: Option<&str>) -> Result<Charset, SpiError> {
    let name = sdk_charset(content_type);
    let lower = name.to_ascii_lowercase();
    const UTF8: [&str; 3] = ["utf-8", "utf8", "unicode-1-1-utf-8"];
    // Java canonical names and common aliases of ASCII supersets.
    const ASCII_SUPERSETS: [&str; 22] = [
        "us-ascii",
        "ascii",
        "iso646-us",
        "iso-8859-1",
        "iso8859_1",
        "latin1",
        "l1",
        "iso-8859-15",
        "iso8859_15",
        "windows-1252",
        "cp1252",
        "gbk",
        "cp936",
        "gb2312",
        "euc-cn",
        "gb18030",
        "big5",
        "big5-hkscs",
        "euc-kr",
        "euc-jp",
        "shift_jis",
        "windows-31j",
    ];
    if UTF8.contains(&lower.as_str()) {
        Ok(Charset::Utf8)
    } else if ASCII_SUPERSETS.contains(&lower.as_str()) {
        Ok(Charset::AsciiOnly(name.to_string()))
    } else {
        Err(SpiError::UnsupportedCharset(name.to_string()))
    }
}

/// Java's `URLDecoder.decode(s, "UTF-8")`: `+` is a space, `%XX` bytes are decoded as UTF-8.
pub fn url_decode(s: &str) -> String {
    decode_component(s).into_owned()
}

/// [`url_decode`], borrowing when there is nothing to decode (most names and values).
fn decode_component(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return std::borrow::Cow::Borrowed(s);
    }
    let plus = s.replace('+', " ");
    std::borrow::Cow::Owned(percent_encoding::percent_decode_str(&plus).decode_utf8_lossy().into_owned())
}

/// The query as `SpiUtils` reads it: split on `&`, each piece on `=`, both with Java's
/// `String.split` (trailing empty parts dropped); one part → empty value, two → key/value,
/// none or more than two → ignored. Later duplicates win.
pub fn parse_query(raw_query: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for piece in java_split(raw_query, '&') {
        match java_split(piece, '=').as_slice() {
            [k] => {
                map.insert(url_decode(k), String::new());
            }
            [k, v] => {
                map.insert(url_decode(k), url_decode(v));
            }
            _ => {}
        }
    }
    map
}

/// Form fields as a servlet reads them: split on `&`, name and value at the first `=`; the
/// first value of a repeated name is the one `getParameter` returns.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for piece in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        // `SpiUtils` signs a blank form value as empty.
        let (k, v) = (url_decode(k), url_decode(v));
        let v = if is_blank(&v) { String::new() } else { v };
        if seen.insert(k.clone()) {
            out.push((k, v));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The signature Qimen computes for this request (`SpiUtils.sign`): uppercase hex of
/// MD5(secret + sorted(top-sign-list headers + query + form fields, only `sign` excluded,
/// empty values kept) + raw body (text types) + secret).
pub fn spi_sign(req: &SpiRequest<'_>, secret: &str) -> Result<String, SpiError> {
    sign_parsed(req, &parse_query(req.raw_query), secret)
}

/// [`spi_sign`] over the request's query already parsed by [`parse_query`].
fn sign_parsed(req: &SpiRequest<'_>, query: &BTreeMap<String, String>, secret: &str) -> Result<String, SpiError> {
    let mode = mode_of(req.content_type)?;
    let charset = charset_of(req.content_type)?;
    let mut params = BTreeMap::new();
    if let Some(list) = header(req.headers, "top-sign-list").filter(|l| !is_blank(l)) {
        for name in list.split(',') {
            let value = header(req.headers, name).filter(|v| !is_blank(v)).map(url_decode).unwrap_or_default();
            params.insert(name.to_string(), value);
        }
    }
    if let Mode::Form = mode {
        for (k, v) in parse_form(req.body) {
            if !query.contains_key(&k) {
                params.insert(k, v);
            }
        }
    }
    // The query wins over a header or form field of the same name.
    params.retain(|k, _| !query.contains_key(k));
    let mut sorted: Vec<(&String, &String)> = params.iter().chain(query.iter()).filter(|(k, _)| k.as_str() != "sign").collect();
    sorted.sort_by(|a, b| java_cmp(a.0, b.0));
    let mut data = Vec::with_capacity(req.body.len() + 256);
    data.extend_from_slice(secret.as_bytes());
    for (k, v) in sorted {
        data.extend_from_slice(k.as_bytes());
        data.extend_from_slice(v.as_bytes());
    }
    if let Mode::Text = mode {
        data.extend_from_slice(req.body);
    }
    data.extend_from_slice(secret.as_bytes());
    if let Charset::AsciiOnly(name) = charset {
        if !data.is_ascii() {
            return Err(SpiError::UnsupportedCharset(name));
        }
    }
    Ok(hex_upper(&Md5::digest(&data)))
}

/// The query Qimen sends with a JSON call of `method`: `app_key`, `format`, `method`,
/// `sign_method`, `timestamp`, `v`, then `sign` over them and `body`. What the simulator, local
/// mode's example request, the load tests and the benchmarks send.
pub fn qimen_query(method: &str, body: &[u8], secret: &str, timestamp: &str) -> String {
    let params = [("app_key", "12345678"), ("format", "json"), ("method", method), ("sign_method", "md5"), ("timestamp", timestamp), ("v", "2.0")];
    let query = encode_query(&params);
    let req = SpiRequest { raw_query: &query, headers: &[], content_type: Some("application/json;charset=utf-8"), body };
    let sign = spi_sign(&req, secret).expect("a JSON body is always signable");
    format!("{query}&sign={sign}")
}

/// Verifies an inbound Qimen SPI request. The remote sign is read from the query only and
/// compared case-sensitively in constant time.
pub fn verify_spi(req: &SpiRequest<'_>, secret: &str) -> Result<(), SpiError> {
    verify_spi_query(req, secret).map(|_| ())
}

/// [`verify_spi`], returning the verified query as [`parse_query`] reads it (parsed once, for
/// the signature and for the caller).
pub fn verify_spi_query(req: &SpiRequest<'_>, secret: &str) -> Result<BTreeMap<String, String>, SpiError> {
    let query = parse_query(req.raw_query);
    let local = sign_parsed(req, &query, secret)?;
    let remote = query.get("sign").ok_or(SpiError::MissingSign)?;
    if constant_time_eq(local.as_bytes(), remote.as_bytes()) {
        Ok(query)
    } else {
        Err(SpiError::Mismatch)
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// GMT+8, the only time zone TOP and Qimen speak.
pub fn gmt8() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Why a `timestamp` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp missing")]
    Missing,
    #[error("timestamp `{0}` is neither `yyyy-MM-dd HH:mm:ss` (GMT+8) nor epoch milliseconds")]
    Unparseable(String),
    #[error("timestamp is {age_secs} s old, over the {window_secs} s window")]
    Stale { age_secs: i64, window_secs: u64 },
}

/// Parses a Qimen `timestamp`: `yyyy-MM-dd HH:mm:ss` in GMT+8, or epoch milliseconds when all
/// digits (the Python SDK's form).
pub fn parse_timestamp(value: &str) -> Result<DateTime<FixedOffset>, TimestampError> {
    let v = value.trim();
    if !v.is_empty() && v.len() <= 16 && v.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = v.parse().map_err(|_| TimestampError::Unparseable(value.to_string()))?;
        return DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&gmt8()))
            .ok_or_else(|| TimestampError::Unparseable(value.to_string()));
    }
    let mut parsed = chrono::format::Parsed::new();
    let naive = chrono::format::parse(&mut parsed, v, TOP_TIME.iter())
        .and_then(|()| parsed.to_naive_datetime_with_offset(0))
        .map_err(|_| TimestampError::Unparseable(value.to_string()))?;
    gmt8().from_local_datetime(&naive).single().ok_or_else(|| TimestampError::Unparseable(value.to_string()))
}

/// `%Y-%m-%d %H:%M:%S` as chrono's parser takes it, spelled out once instead of the format
/// string being parsed again on every signed request (most of the timestamp check's time).
const TOP_TIME: [chrono::format::Item<'static>; 11] = {
    use chrono::format::{Item, Numeric, Pad};
    [
        Item::Numeric(Numeric::Year, Pad::Zero),
        Item::Literal("-"),
        Item::Numeric(Numeric::Month, Pad::Zero),
        Item::Literal("-"),
        Item::Numeric(Numeric::Day, Pad::Zero),
        Item::Space(" "),
        Item::Numeric(Numeric::Hour, Pad::Zero),
        Item::Literal(":"),
        Item::Numeric(Numeric::Minute, Pad::Zero),
        Item::Literal(":"),
        Item::Numeric(Numeric::Second, Pad::Zero),
    ]
};

/// `SpiUtils.checkTimestamp`: passes when `now - timestamp <= window`; a future timestamp
/// passes. A window of 0 disables the check (a missing timestamp included).
pub fn check_timestamp(value: Option<&str>, now: DateTime<Utc>, window_secs: u64) -> Result<(), TimestampError> {
    if window_secs == 0 {
        return Ok(());
    }
    let value = value.filter(|v| !v.trim().is_empty()).ok_or(TimestampError::Missing)?;
    let ts = parse_timestamp(value)?;
    let age_ms = now.signed_duration_since(ts).num_milliseconds();
    if age_ms > (window_secs as i64).saturating_mul(1000) {
        return Err(TimestampError::Stale { age_secs: age_ms / 1000, window_secs });
    }
    Ok(())
}

/// Formats an instant as TOP's `yyyy-MM-dd HH:mm:ss` in GMT+8.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&gmt8()).format_with_items(TOP_TIME.iter()).to_string()
}

/// Percent-encodes a value the way Java's `URLEncoder` does (`application/x-www-form-urlencoded`:
/// space as `+`, only `*-._` and alphanumerics left as they are).
pub fn url_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_').remove(b' ');
    percent_encoding::utf8_percent_encode(s, SET).to_string().replace(' ', "+")
}

/// Builds a query string from pairs, values encoded like Java's `URLEncoder`.
pub fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", url_encode(k.as_ref()), url_encode(v.as_ref()))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod time_format {
    use super::*;
    use chrono::NaiveDateTime;

    #[test]
    fn the_spelled_out_format_is_the_format_string() {
        let items: Vec<_> = chrono::format::StrftimeItems::new("%Y-%m-%d %H:%M:%S").collect();
        assert_eq!(items, TOP_TIME);
        // Same answers as parsing with the format string, odd inputs included.
        for v in
            ["2026-12-03 08:00:00", "2026-2-3 8:0:0", "2026-12-03   08:00:00", "2026-12-0308:00:00", "2026-12-03 08:00", "2026-13-01 00:00:00", "x"]
        {
            let by_string = NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S").ok().and_then(|n| gmt8().from_local_datetime(&n).single());
            assert_eq!(parse_timestamp(v).ok(), by_string, "{v}");
        }
        assert_eq!(format_timestamp(DateTime::from_timestamp(1_796_000_000, 0).unwrap()), "2026-11-30 08:53:20");
    }
}
