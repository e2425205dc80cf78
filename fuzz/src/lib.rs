//! The bodies of Busgate's fuzz targets, one `pub fn <target>(data: &[u8])` each.
//!
//! * `cargo +nightly fuzz run <target>` (in `fuzz/`) runs them under libFuzzer: see
//!   `fuzz/README.md`.
//! * `tests/tests/it/hardening.rs` includes this file and runs the same functions on stable, on
//!   proptest-generated and mutated inputs, so every test run exercises them.
//!
//! A target panics only when a property is broken: a parser that panics, a signature that
//! verifies after a signed byte changed, an answer that is not the partner's JSON envelope.

use std::sync::{Arc, OnceLock};

use busgate_adapters::InProcessQueue;
use busgate_domain::catalogue::{self, ImportOptions};
use busgate_domain::store::memory::MemoryStore;
use busgate_domain::{gmt8, ManualClock};
use busgate_edge::{handle, App, BusRoute, Config, Inbound, Route};
use busgate_signing::{encode_query, parse_query, spi_sign, verify_spi, SignMethod, SpiRequest};
use busgate_wire::json::{parse_object, Fields};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `fuzz/fuzz_targets/*.rs` and of the seed directories).
pub const TARGETS: [(&str, Target); 8] = [
    ("json_parse", json_parse),
    ("wire_json", wire_json),
    ("signing_verify", signing_verify),
    ("signing_tamper", signing_tamper),
    ("notices_validate", notices_validate),
    ("cases_parse_inbound", cases_parse_inbound),
    ("catalogue_parse_import", catalogue_parse_import),
    ("pipeline", pipeline),
];

/// Reads fuzz input piece by piece; past the end every read is empty or zero, so any input
/// decodes to something.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    /// A chunk of at most 255 bytes: a length byte, then that many bytes (fewer at the end).
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = (self.byte() as usize).min(self.data.len());
        let (c, rest) = self.data.split_at(n);
        self.data = rest;
        c
    }
    pub fn text(&mut self) -> String {
        String::from_utf8_lossy(self.chunk()).into_owned()
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Writes what [`Cursor`] reads (to build seeds and generated inputs).
#[derive(Default)]
pub struct Encoder(pub Vec<u8>);

impl Encoder {
    pub fn byte(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    pub fn chunk(mut self, c: &[u8]) -> Self {
        let c = &c[..c.len().min(255)];
        self.0.push(c.len() as u8);
        self.0.extend_from_slice(c);
        self
    }
    pub fn rest(mut self, r: &[u8]) -> Vec<u8> {
        self.0.extend_from_slice(r);
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// busgate_json

/// The one strict JSON intake: never panics; accepts exactly what serde_json accepts (except
/// numbers past f64, which it keeps as text, and nesting past serde_json's recursion limit);
/// places an early end of an ASCII input where serde_json does; an accepted document's
/// canonical text parses back to the same canonical text, and every value's line is within
/// the input.
pub fn json_parse(data: &[u8]) {
    let ours = busgate_json::parse(data, 200);
    let theirs = serde_json::from_slice::<Value>(data);
    let serde_refused_for_range = |e: &serde_json::Error| {
        let m = e.to_string();
        m.starts_with("number out of range") || m.starts_with("recursion limit exceeded")
    };
    match (&ours, &theirs) {
        (Ok(node), _) => {
            if let Err(e) = &theirs {
                assert!(serde_refused_for_range(e), "we accept what serde_json refuses: {e}");
            }
            let lines = 1 + data.iter().filter(|&&b| b == b'\n').count();
            assert!((1..=lines).contains(&node.line), "line {} outside 1..={lines}", node.line);
            let text = busgate_json::canonical(node);
            let again = busgate_json::parse(text.as_bytes(), 200).unwrap_or_else(|e| panic!("canonical text refused: {e}"));
            assert_eq!(busgate_json::canonical(&again), text, "canonical text is not a fixed point");
        }
        (Err(busgate_json::Error::TooDeep { .. }), Err(e)) => assert!(serde_refused_for_range(e), "too deep, serde_json says: {e}"),
        (Err(e), Ok(_)) => panic!("we refuse what serde_json accepts: {e}"),
        (Err(busgate_json::Error::Syntax(e)), Err(s)) => {
            if s.classify() == serde_json::error::Category::Eof && data.is_ascii() {
                assert_eq!((e.line, e.column), (s.line(), s.column()), "early end placed elsewhere than serde_json's {s}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// busgate_wire::json

/// Strict JSON intake: `parse_object` never panics; on success every `Fields` getter answers
/// (at any depth, through `opt_objects`) and its canonical text reads back to itself.
pub fn wire_json(data: &[u8]) {
    let Ok(members) = parse_object(data) else { return };
    exercise_fields(Fields::new(&members), &members, 0);
    let canonical = |members| busgate_json::canonical(&busgate_json::Node { line: 1, value: busgate_json::Value::Object(members) });
    let text = canonical(members);
    let back = parse_object(text.as_bytes()).unwrap_or_else(|e| panic!("canonical text refused: {e}"));
    assert_eq!(canonical(back), text, "round trip changed the object");
}

fn exercise_fields(f: Fields<'_>, members: &[(String, busgate_json::Node)], depth: usize) {
    for (name, _) in members {
        let _ = f.path(name);
        let _ = f.raw(name);
        let s = f.opt_str(name);
        if let Ok(Some(v)) = &s {
            assert!(!v.is_empty() && v.trim() == v, "opt_str gives trimmed, non-empty strings");
        }
        let _ = f.req_str(name);
        let _ = f.opt_code(name);
        let _ = f.opt_int(name, u64::MAX);
        let _ = f.opt_int(name, 100);
        let _ = f.req_int(name, 1, 100);
        let _ = f.req_int(name, 0, 0);
        if let Ok(Some(v)) = f.opt_fen(name) {
            assert!((0..=1_000_000_000).contains(&v), "fen out of range: {v}");
        }
        let _ = f.req_fen(name);
        let _ = f.opt_bool(name);
        if let Ok(Some(id)) = f.opt_id(name) {
            assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "bad id accepted: {id}");
        }
        let _ = f.req_id(name);
        if let Ok(v) = f.req_alitrip_order_id(name) {
            assert!(v.parse::<i64>().is_ok(), "alitripOrderId not a long: {v}");
        }
        if depth < 4 {
            if let Ok(Some(items)) = f.opt_objects(name) {
                for (path, m) in &items {
                    exercise_fields(Fields::nested(m, path), m, depth + 1);
                }
            }
        }
    }
    // Names that are not there.
    let _ = f.req_str("\u{0}absent");
    let _ = f.opt_objects("\u{0}absent");
}

/// JSON equality where floats may differ in the last place (serde_json's default float
/// parser is not always correctly rounded).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// busgate_signing

const CONTENT_TYPES: [&str; 10] = [
    "application/json;charset=utf-8",
    "application/json",
    "text/plain; charset=UTF-8",
    "text/xml",
    "application/xml;charset=UTF8",
    "application/x-www-form-urlencoded;charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/json;charset=gbk",
    "multipart/form-data",
    "",
];

/// Whether a content type is one whose raw body is signed (text types, UTF-8).
fn signs_raw_body(ct: &str) -> bool {
    let l = ct.to_ascii_lowercase();
    (l.starts_with("application/json") || l.starts_with("text/") || l.starts_with("application/xml")) && !l.contains("gbk")
}

/// Verification of arbitrary requests: `verify_spi`, `spi_sign`, `parse_query`,
/// `check_timestamp` and `top_sign` never panic, and `verify_spi` accepts exactly when the
/// query's `sign` is the one `spi_sign` computes.
pub fn signing_verify(data: &[u8]) {
    let mut c = Cursor::new(data);
    let sel = c.byte();
    let raw_query = c.text();
    let content_type = match sel % 12 {
        10 => Some(c.text()),
        11 => None,
        i => Some(CONTENT_TYPES[i as usize].to_string()),
    };
    let mut headers = Vec::new();
    for _ in 0..(c.byte() % 4) {
        headers.push((c.text(), c.text()));
    }
    let secret = c.text();
    let body = c.rest();
    let req = SpiRequest { raw_query: &raw_query, headers: &headers, content_type: content_type.as_deref(), body };
    let verdict = verify_spi(&req, &secret);
    let local = spi_sign(&req, &secret);
    let query = parse_query(&raw_query);
    match (&verdict, &local) {
        (Ok(()), Ok(sign)) => assert_eq!(query.get("sign"), Some(sign), "verified with another sign"),
        (Ok(()), Err(e)) => panic!("verified although spi_sign refused: {e}"),
        (Err(_), Ok(sign)) => assert_ne!(query.get("sign"), Some(sign), "refused the sign spi_sign computes"),
        (Err(_), Err(_)) => {}
    }
    for (k, v) in &query {
        let _ = busgate_signing::url_encode(k);
        let _ = busgate_signing::url_decode(v);
    }
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).single().expect("a valid instant");
    for window in [0, 300] {
        let _ = busgate_signing::check_timestamp(query.get("timestamp").map(String::as_str), now, window);
        let _ = busgate_signing::check_timestamp(Some(&raw_query), now, window);
    }
    let _ = busgate_signing::parse_timestamp(&secret);
    let pairs: Vec<(String, String)> = query.into_iter().collect();
    for m in [SignMethod::Md5, SignMethod::Hmac, SignMethod::HmacSha256] {
        let s = busgate_signing::top_sign(&pairs, Some(body), &secret, m);
        assert!(s.len() == 32 || s.len() == 64, "sign of odd length");
    }
}

/// What Qimen's signature covers of a query, modelled independently of the signer: the
/// decoded `name + value` pairs other than `sign`, sorted by name in UTF-16 order and
/// concatenated with no separator, then the `sign` value itself. The scheme has no separators,
/// so `method=X` and `method&X` (two parameters, empty values kept) sign the same bytes; no
/// verifier that matches Qimen can tell them apart.
fn signed_query(raw_query: &str) -> (String, Option<String>) {
    let mut query = parse_query(raw_query);
    let sign = query.remove("sign");
    let mut pairs: Vec<(String, String)> = query.into_iter().collect();
    pairs.sort_by_key(|(k, _)| k.encode_utf16().collect::<Vec<u16>>());
    (pairs.into_iter().map(|(k, v)| k + &v).collect(), sign)
}

/// A request signed like Qimen signs verifies; changing one byte of what is signed (the body
/// of a text request, or the query so that what its signature covers changes) makes it fail,
/// while a change that leaves the signed bytes as they were still verifies.
pub fn signing_tamper(data: &[u8]) {
    let mut c = Cursor::new(data);
    let sel = c.byte();
    let content_type = CONTENT_TYPES[(sel % 7) as usize];
    let secret = c.text();
    let mut params = vec![("method".to_string(), "qimen.alitrip.custombus.product.seat.query".to_string())];
    for _ in 0..(c.byte() % 6) {
        params.push((c.text(), c.text()));
    }
    let headers = if sel & 0x80 != 0 {
        vec![("top-sign-list".to_string(), "x-a,x-b".to_string()), ("X-A".to_string(), c.text()), ("x-b".to_string(), c.text())]
    } else {
        Vec::new()
    };
    let (pos, flip) = (u16::from_le_bytes([c.byte(), c.byte()]), c.byte().max(1));
    let body = c.rest();
    let unsigned = encode_query(&params);
    let req = SpiRequest { raw_query: &unsigned, headers: &headers, content_type: Some(content_type), body };
    let sign = spi_sign(&req, &secret).expect("a supported content type");
    let query = format!("{unsigned}&sign={sign}");
    let signed = SpiRequest { raw_query: &query, ..req };
    if let Err(e) = verify_spi(&signed, &secret) {
        panic!("a freshly signed request does not verify: {e} (query {query:?}, content type {content_type})");
    }
    // A wrong secret never verifies (unless it is the same secret).
    let other = format!("{secret}x");
    assert!(verify_spi(&signed, &other).is_err(), "verified with another secret");

    // The properties below hold for the raw body of a text type; with signed headers a query
    // parameter can also take the value a header had, so they are left out there.
    if !signs_raw_body(content_type) || !headers.is_empty() {
        return;
    }
    let total = query.len() + body.len();
    if total == 0 {
        return;
    }
    let at = pos as usize % total;
    if at < query.len() {
        let mut bytes = query.clone().into_bytes();
        bytes[at] ^= flip;
        let Ok(mutated) = String::from_utf8(bytes) else { return };
        let changed = signed_query(&mutated) != signed_query(&query);
        let verdict = verify_spi(&SpiRequest { raw_query: &mutated, ..signed }, &secret);
        if changed {
            assert!(verdict.is_err(), "query byte {at} changed ({query:?} -> {mutated:?}) and the request still verifies");
        } else {
            assert!(verdict.is_ok(), "a query change that signs the same bytes ({query:?} -> {mutated:?}) no longer verifies");
        }
    } else {
        let mut bytes = body.to_vec();
        bytes[at - query.len()] ^= flip;
        assert!(
            verify_spi(&SpiRequest { body: &bytes, ..signed }, &secret).is_err(),
            "body byte {} changed and the request still verifies",
            at - query.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Partner parsers: busgate_wire::fenbeitong, busgate_wire::relation

/// Fenbeitong notices: `validate` never panics, refuses with a 4xx JSON answer, and a valid
/// notice validates the same way twice.
pub fn notices_validate(data: &[u8]) {
    use busgate_wire::fenbeitong::{respond, status, validate, validate_with, ValidateOptions};
    let first = validate(data);
    match &first {
        Ok(notice) => {
            let _ = notice.original_order_ids();
            let _ = notice.original_order();
            let again = validate(data);
            assert!(again.is_ok(), "a valid notice validated differently the second time");
        }
        Err(e) => {
            assert!((400..500).contains(&status(e)), "a refused notice answers {} ({e})", status(e));
            let r = respond(&Err(e.clone()), "fuzz");
            assert_eq!(r.status, status(e));
            serde_json::from_str::<Value>(&r.body).expect("the refusal is JSON");
        }
    }
    let lenient = validate_with(data, &ValidateOptions { allow_cert_type_unknown: true });
    if first.is_ok() {
        assert!(lenient.is_ok(), "the lenient validator refused what the strict one accepted");
    }
}

/// Collaboration work orders: `parse_inbound` never panics, and an accepted message has a
/// replay key and a canonical form.
pub fn cases_parse_inbound(data: &[u8]) {
    use busgate_domain::cases::{replay_key, RelationConfig};
    use busgate_wire::relation::parse_inbound;
    for numeric in [true, false] {
        let cfg = RelationConfig { numeric_order_id: numeric, ..Default::default() };
        if let Ok(msg) = parse_inbound(data, &cfg) {
            let _ = replay_key(&msg);
            assert!(busgate_json::parse(msg.canonical.as_bytes(), 64).is_ok(), "the canonical form is JSON");
        }
    }
    let small = RelationConfig { max_body_bytes: 16, ..Default::default() };
    if data.len() > 16 {
        assert!(parse_inbound(data, &small).is_err(), "a body over the limit was accepted");
    }
}

/// Catalogue files: `parse_import` never panics; a file it accepts expands to its departures
/// and reads back from its own JSON.
pub fn catalogue_parse_import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match catalogue::parse_import(&text) {
        Ok(file) => {
            let planned = file.planned_departures().expect("an accepted file expands");
            let json = file.to_json();
            let back = catalogue::parse_import(&json).unwrap_or_else(|p| panic!("its own JSON is refused: {p:?}"));
            assert_eq!(back.planned_departures().map(|d| d.len()).ok(), Some(planned.len()), "the round trip changed the departures");
        }
        Err(problems) => assert!(!problems.is_empty(), "refused without a problem"),
    }
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline: busgate_edge::handle

/// The Qimen secret of the pipeline harness.
pub const SECRET: &str = "busgate-fuzz-secret";
/// The Fenbeitong token of the pipeline harness.
pub const FENBEITONG_TOKEN: &str = "fuzz-fenbeitong-token-0001";

/// The instant the harness' clock stands at (the demo catalogue's dates count from it).
pub fn harness_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).single().expect("a valid instant")
}

/// An App on the in-memory store with the demo catalogue, an in-process queue and a clock that
/// does not move, and a runtime to drive it.
pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub app: App,
}

impl Harness {
    pub fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let env = |k: &str| -> Option<String> {
            Some(match k {
                "BUSGATE_QIMEN_SECRET" => SECRET.into(),
                "BUSGATE_FENBEITONG_TOKENS" => format!("demo={FENBEITONG_TOKEN}"),
                "BUSGATE_TOP_URL" => "http://127.0.0.1:9/top".into(),
                "BUSGATE_TOP_APP_KEY" => "12345678".into(),
                "BUSGATE_TOP_SECRET" => "fuzz-top-secret".into(),
                "BUSGATE_IN_FLIGHT_WAIT_MS" => "0".into(),
                _ => return None,
            })
        };
        let config = Config::from_lookup(&env).expect("the harness configuration is valid");
        let queue = Arc::new(InProcessQueue::new(std::time::Duration::from_secs(30), 10));
        let clock = Arc::new(ManualClock::new(harness_now()));
        let app = App::new(config, Arc::new(MemoryStore::new()), queue, clock);
        rt.block_on(async {
            let today = harness_now().with_timezone(&gmt8()).date_naive();
            let file = catalogue::demo_catalogue(today);
            catalogue::apply_import(app.store.as_ref(), &file, harness_now(), &ImportOptions::default(), &|_, _| {})
                .await
                .expect("the demo catalogue imports");
        });
        Harness { rt, app }
    }

    /// Runs one decoded input through the pipeline and checks the answer.
    pub fn run(&self, data: &[u8]) {
        self.answer(data);
    }

    /// Runs one decoded input through the pipeline, checks the answer and returns it.
    pub fn answer(&self, data: &[u8]) -> (u16, Value) {
        let input = PipelineInput::decode(data);
        let (route, inbound, expect) = input.inbound();
        let out = self.rt.block_on(handle(&self.app, route, inbound));
        check_answer(route, &out.status, &out.body, expect);
        (out.status, serde_json::from_slice(&out.body).unwrap_or(Value::Null))
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// How the pipeline target builds its request from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Query, content type and body as given (almost always a signature failure).
    Raw = 0,
    /// The body as given, signed correctly with a fresh timestamp: reaches the handlers.
    Signed = 1,
    /// Signed, then one body byte changed: must be refused as a signature failure.
    Tampered = 2,
    /// Signed with a stale timestamp: must be refused (timestamp, never a handler).
    Stale = 3,
}

/// A decoded pipeline input.
#[derive(Debug, Clone)]
pub struct PipelineInput {
    pub route: Route,
    pub mode: Mode,
    /// Raw mode: the query; other modes: extra query parameters (`k=v&…`, signed along).
    pub query: String,
    /// Raw mode: the content type (or none when empty); the Fenbeitong route: the path token.
    pub extra: String,
    pub body: Vec<u8>,
}

/// What the answer must be, beyond "the partner's JSON".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Anything,
    /// The bus route answers something other than a signature failure.
    Accepted,
    /// The bus route answers the signature failure.
    SignFailure,
    /// Refused before the handler (signature or timestamp).
    Refused,
}

impl PipelineInput {
    pub fn decode(data: &[u8]) -> PipelineInput {
        let mut c = Cursor::new(data);
        let route = Route::ALL[c.byte() as usize % Route::ALL.len()];
        let mode = match c.byte() % 4 {
            0 => Mode::Raw,
            1 => Mode::Signed,
            2 => Mode::Tampered,
            _ => Mode::Stale,
        };
        let query = c.text();
        let extra = c.text();
        PipelineInput { route, mode, query, extra, body: c.rest().to_vec() }
    }

    pub fn encode(&self) -> Vec<u8> {
        let idx = Route::ALL.iter().position(|r| *r == self.route).expect("a route") as u8;
        Encoder::default().byte(idx).byte(self.mode as u8).chunk(self.query.as_bytes()).chunk(self.extra.as_bytes()).rest(&self.body)
    }

    fn inbound(&self) -> (Route, Inbound, Expect) {
        let route = self.route;
        let path = match route {
            Route::FenbeitongNotify => {
                let token = if self.mode == Mode::Raw && !self.extra.is_empty() { self.extra.as_str() } else { FENBEITONG_TOKEN };
                format!("/fenbeitong/notify/{token}")
            }
            r => r.path().to_string(),
        };
        let mut req = Inbound {
            path,
            body: bytes::Bytes::from(self.body.clone()),
            request_id: "fuzz".into(),
            source_ip: Some("127.0.0.1".into()),
            ..Default::default()
        };
        if self.mode == Mode::Raw {
            req.raw_query = self.query.clone();
            if !self.extra.is_empty() {
                req.headers.push(("content-type".into(), self.extra.clone()));
            }
            return (route, req, Expect::Anything);
        }
        let content_type = "application/json;charset=utf-8";
        req.headers.push(("Content-Type".into(), content_type.into()));
        let timestamp = match self.mode {
            Mode::Stale => busgate_signing::format_timestamp(harness_now() - chrono::Duration::hours(1)),
            _ => busgate_signing::format_timestamp(harness_now()),
        };
        let method = route.default_method().unwrap_or("alitrip.serve.workorder.relation");
        let mut params: Vec<(String, String)> = vec![
            ("app_key".into(), "12345678".into()),
            ("format".into(), "json".into()),
            ("method".into(), method.into()),
            ("sign_method".into(), "md5".into()),
            ("timestamp".into(), timestamp),
            ("v".into(), "2.0".into()),
        ];
        // Extra parameters, except ones that would replace the signature or the timestamp.
        for (k, v) in parse_query(&self.query) {
            if !matches!(k.as_str(), "sign" | "timestamp") && !k.is_empty() {
                params.push((k, v));
            }
        }
        let query = encode_query(&params);
        let spi = SpiRequest { raw_query: &query, headers: &req.headers, content_type: Some(content_type), body: &self.body };
        let sign = spi_sign(&spi, SECRET).expect("JSON is signable");
        req.raw_query = format!("{query}&sign={sign}");
        let expect = match self.mode {
            // Over the relation route's limit (64 KiB, the smallest): refused for its size first.
            _ if self.body.len() > 64 * 1024 => Expect::Anything,
            Mode::Signed => Expect::Accepted,
            Mode::Tampered if !self.body.is_empty() => {
                let mut body = self.body.clone();
                let at = self.extra.len() % body.len();
                body[at] ^= 0x20;
                req.body = bytes::Bytes::from(body);
                Expect::SignFailure
            }
            Mode::Tampered => Expect::Accepted,
            _ => Expect::Refused,
        };
        (route, req, expect)
    }
}

fn check_answer(route: Route, status: &u16, body: &[u8], expect: Expect) {
    let text = String::from_utf8_lossy(body);
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{route:?} answered non-JSON ({e}): {text}"));
    assert!(json.is_object(), "{route:?} answered JSON that is not an object: {text}");
    let sign_failure = body == busgate_wire::fliggy::SIGN_FAILURE_BODY.as_bytes() || body == busgate_wire::relation::SIGN_FAILURE_BODY.as_bytes();
    if route.is_bus() {
        assert_eq!(*status, 200, "{route:?} answered HTTP {status}: {text}");
        assert!(json.get("retCode").is_some() && json.get("success").is_some(), "{route:?}: not the bus envelope: {text}");
        match expect {
            Expect::Accepted => {
                assert!(!sign_failure, "{route:?}: a correctly signed request was refused as unsigned");
                assert_ne!(json["retCode"], "timestamp-expired", "{route:?}: a fresh timestamp was refused: {text}");
            }
            Expect::SignFailure => assert!(sign_failure, "{route:?}: a tampered body was not refused as a signature failure: {text}"),
            Expect::Refused => assert_ne!(json["success"], Value::Bool(true), "{route:?}: a stale request was served: {text}"),
            Expect::Anything => {}
        }
        if json["success"] == Value::Bool(true) {
            assert_eq!(json["retCode"], "0", "{route:?}: success with a non-zero retCode: {text}");
        }
    } else {
        assert!((200..600).contains(status), "{route:?} answered HTTP {status}");
        if route == Route::Relation {
            match expect {
                Expect::Accepted => assert!(!sign_failure, "relation: a correctly signed request was refused as unsigned: {text}"),
                Expect::SignFailure => assert!(sign_failure, "relation: a tampered body was not refused: {text}"),
                Expect::Refused => assert_ne!(json["success"], Value::Bool(true), "relation: a stale request was served: {text}"),
                Expect::Anything => {}
            }
        }
    }
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(Harness::new)
}

/// The whole bus pipeline on arbitrary query and body bytes, every route: never panics; a bus
/// route always answers HTTP 200 with the bus JSON envelope, a partner route a JSON body; a
/// signed request is never refused as unsigned, a tampered one always is.
pub fn pipeline(data: &[u8]) {
    harness().run(data);
}

// ---------------------------------------------------------------------------------------------
// Seeds

const NOTICE_SEEDS: [&[u8]; 3] = [
    include_bytes!("../../tests/fixtures/fenbeitong/flight_refund.json"),
    include_bytes!("../../tests/fixtures/fenbeitong/hotel_refund.json"),
    include_bytes!("../../tests/fixtures/fenbeitong/train_rebook.json"),
];

const RELATION_SEEDS: [&str; 4] = [
    r#"{"case_id":"0000000","relation_type":"startRelation","operator":"小二A","order_id":"444444444","category_id":"3333","attributes":"{\"content\":\"请核实退款\"}"}"#,
    r#"{"case_id":"0000000","relation_type":"urgeCase","operator":"小二A","order_id":"444444444","category_id":"3333","attributes":"{\"content\":\"请尽快处理\"}"}"#,
    r#"{"case_id":"1234567","relation_type":"notify","operator":"op","order_id":"900000000001","category_id":"1","relation_case_id":"R1","attributes":"{}"}"#,
    r#"{"case_id":"0000000","relation_type":"endRelation","operator":"小二A","order_id":"444444444","category_id":"3333"}"#,
];

/// Bus request bodies valid against the harness' demo catalogue (one or more per route).
pub fn bus_bodies(route: Route) -> Vec<String> {
    let today = harness_now().with_timezone(&gmt8()).date_naive();
    let file = catalogue::demo_catalogue(today);
    let planned = file.planned_departures().unwrap_or_default();
    let mut deps = Vec::new();
    // Departures of point-to-point lines (an area station needs a custom address), with the
    // adult fare of their default segment, the first of each line and a later one.
    for p in planned.iter().filter(|p| p.date > today && p.stop.is_none()) {
        let line = &file.lines[p.line_index].line;
        let (Some(from), Some(to)) = (line.first_boarding(), line.last_alighting()) else { continue };
        if from.station_type != catalogue::StationType::Point || to.station_type != catalogue::StationType::Point {
            continue;
        }
        if deps.iter().filter(|d: &&(String, String, String, String, i64)| d.1 == line.id).count() >= 2 {
            continue;
        }
        let fare = line
            .segment_prices
            .iter()
            .find(|s| s.from_station_code == from.station_code && s.to_station_code == to.station_code)
            .map(|s| s.price)
            .unwrap_or(0);
        deps.push((p.schedule_id.clone(), line.id.clone(), p.date.format("%Y-%m-%d").to_string(), p.time.start().format("%H:%M").to_string(), fare));
    }
    let from = file.cities.first().map(|c| c.name.clone()).unwrap_or_default();
    let to = file.cities.get(1).map(|c| c.name.clone()).unwrap_or_default();
    let day = today.format("%Y-%m-%d").to_string();
    match route {
        Route::Bus(BusRoute::FromCities) => vec!["{}".into(), format!(r#"{{"fromCity":"{from}"}}"#), r#"{"fromCity":"上海"}"#.into()],
        Route::Bus(BusRoute::ToCities) => vec![format!(r#"{{"fromCity":"{from}"}}"#)],
        Route::Bus(BusRoute::Lines) => vec![
            format!(r#"{{"fromCity":"{from}","toCity":"{to}","fromDate":"{day}"}}"#),
            format!(r#"{{"fromCity":"{from}"}}"#),
        ],
        Route::Bus(BusRoute::Seats) => deps
            .iter()
            .map(|(s, l, d, t, _)| format!(r#"{{"scheduleId":"{s}","lineId":"{l}","fromDate":"{d}","fromTime":"{t}"}}"#))
            .collect(),
        Route::Bus(BusRoute::StoppedSchedules) => vec!["{}".into(), format!(r#"{{"fromCity":"{from}","fromDateTimeBegin":"{day} 00:00:00","fromDateTimeEnd":"2099-01-01 00:00:00"}}"#)],
        Route::Bus(BusRoute::OrdersCreate) => deps
            .iter()
            .take(2)
            .map(|(s, l, d, t, fare)| {
                format!(
                    r#"{{"alitripOrderId":"900000000001","scheduleId":"{s}","lineId":"{l}","fromDate":"{d}","fromTime":"{t}:00","orderAmount":{fare},"ticketCount":1,"contactName":"张三","contactMobile":"13800000000","passengerList":[{{"passengerName":"张三","passengerCertificateType":"1","passengerCertificateNo":"110101199001011234","passengerType":"0"}}]}}"#
                )
            })
            .collect(),
        Route::Bus(BusRoute::OrdersQuery) | Route::Bus(BusRoute::OrdersConfirm) | Route::Bus(BusRoute::OrdersClose) => {
            vec![r#"{"alitripOrderId":"900000000001"}"#.into(), r#"{"alitripOrderId":"900000000001","agentOrderId":"BG26060100000001"}"#.into()]
        }
        Route::Bus(BusRoute::RefundsFee) => vec![r#"{"alitripOrderId":"900000000001","agentOrderId":"BG26060100000001","passengerList":[{"ticketId":"BG26060100000001-1"}]}"#.into()],
        Route::Bus(BusRoute::RefundsApply) => vec![
            r#"{"alitripOrderId":"900000000001","agentOrderId":"BG26060100000001","passengerList":[{"ticketId":"BG26060100000001-1","refundSurcharge":0}],"refundReason":"行程变更"}"#.into(),
        ],
        Route::Relation => RELATION_SEEDS.iter().map(|s| s.to_string()).collect(),
        Route::FenbeitongNotify => NOTICE_SEEDS.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
    }
}

/// The seed inputs of a target (valid or nearly valid inputs, for libFuzzer and for the
/// mutations of the stable driver).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let all_bodies = || Route::ALL.into_iter().flat_map(bus_bodies).map(String::into_bytes);
    match target {
        "json_parse" => {
            let mut v: Vec<Vec<u8>> =
                ["wire_json", "notices_validate", "cases_parse_inbound", "catalogue_parse_import"].into_iter().flat_map(seeds).collect();
            v.push(br#"{"a":[1,-0.5e3,"\ud83d\ude8c",{"b":null}],"a":true}"#.to_vec());
            v.push(b"[\n  1,\n  2,\n]".to_vec());
            v
        }
        "wire_json" => {
            let mut v: Vec<Vec<u8>> = all_bodies().collect();
            v.push(br#"{"a":1,"a":2}"#.to_vec());
            v.push(br#"{"n":1e400,"x":[1,2,{"y":null}],"s":"  "}"#.to_vec());
            v
        }
        "signing_verify" => Route::ALL
            .into_iter()
            .filter(|r| r.is_bus())
            .flat_map(|r| {
                bus_bodies(r).into_iter().map(move |b| {
                    let input = PipelineInput { route: r, mode: Mode::Signed, query: String::new(), extra: String::new(), body: b.into_bytes() };
                    let (_, req, _) = input.inbound();
                    Encoder::default().byte(0).chunk(req.raw_query.as_bytes()).byte(0).chunk(SECRET.as_bytes()).rest(&req.body)
                })
            })
            .collect(),
        "signing_tamper" => all_bodies()
            .enumerate()
            .map(|(i, b)| {
                Encoder::default()
                    .byte(i as u8)
                    .chunk(SECRET.as_bytes())
                    .byte(2)
                    .chunk(b"timestamp")
                    .chunk(b"2026-06-01 10:00:00")
                    .chunk(b"name with space")
                    .chunk("值 & = %".as_bytes())
                    .chunk(b"a")
                    .chunk(b"b")
                    .byte(i as u8)
                    .byte(0)
                    .byte(1)
                    .rest(&b)
            })
            .collect(),
        "notices_validate" => NOTICE_SEEDS.iter().map(|s| s.to_vec()).collect(),
        "cases_parse_inbound" => RELATION_SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect(),
        "catalogue_parse_import" => {
            let today = harness_now().with_timezone(&gmt8()).date_naive();
            vec![catalogue::demo_catalogue(today).to_json().into_bytes()]
        }
        "pipeline" => {
            let mut v = Vec::new();
            for route in Route::ALL {
                for body in bus_bodies(route) {
                    for mode in [Mode::Signed, Mode::Tampered, Mode::Raw] {
                        v.push(PipelineInput { route, mode, query: String::new(), extra: String::new(), body: body.clone().into_bytes() }.encode());
                    }
                }
            }
            v
        }
        _ => Vec::new(),
    }
}
