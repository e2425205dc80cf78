//! Strict intake of a refund/rebook notice (partners.md §2.7 V3–V16, with the seed's
//! inconsistencies handled as §2.4 decides). Pure: bytes in, a typed [`Notice`] or the first
//! problem out, with the JSON path and the offending value in the message.

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use busgate_domain::notices::*;

use busgate_json::{canonical, child as child_path, exact_number, Node, Value};

use super::json::{self, describe, quote, shown};

/// Largest body accepted (V3).
pub const MAX_BODY_BYTES: usize = 262_144;

/// V3: refuses a body over [`MAX_BODY_BYTES`] (call it before reading more, with the declared
/// length, and again with the bytes read).
pub fn check_size(size: usize) -> Result<(), NoticeError> {
    if size > MAX_BODY_BYTES {
        Err(NoticeError::TooLarge { limit: MAX_BODY_BYTES, size })
    } else {
        Ok(())
    }
}

/// Longest ordinary string field, in characters (V13).
pub const MAX_STRING_CHARS: usize = 256;
/// Longest `apply.apply_reason` / `apply.remark`, in characters (V13).
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most orders in one notice (V13).
pub const MAX_ORDERS: usize = 20;
/// Most cost-attribution lines in one notice (V13).
pub const MAX_COST_ATTRIBUTIONS: usize = 50;
/// Most unknown field paths kept on a notice for logging.
pub const MAX_UNKNOWN_KEPT: usize = 50;
/// Largest integer part of a decimal (`rebook_price`), in digits.
const MAX_INTEGER_DIGITS: i64 = 15;

/// Switches of the validator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept `user.cert_type: 0` ("unknown" in Fenbeitong's 2018 table; §2.3).
    pub allow_cert_type_unknown: bool,
}

/// Validates a notice body with the default options. See [`validate_with`].
pub fn validate(body: &[u8]) -> Result<Notice, NoticeError> {
    validate_with(body, &ValidateOptions::default())
}

/// Validates a notice body: size (V3), UTF-8 JSON object without duplicate member names (V4),
/// required fields (V5, V8), exact JSON types (V6), enumerations (V7), formats and limits (V9,
/// V13), chronology (V10), shape by `apply_type` (V11), the `start_data`/`end_data` aliases
/// (V12), unknown fields kept for logging (V15), empty optional strings as absent (V16).
/// A `null` member counts as absent. The first problem found is returned.
pub fn validate_with(body: &[u8], options: &ValidateOptions) -> Result<Notice, NoticeError> {
    check_size(body.len())?;
    let root = json::parse(body)?;
    let Value::Object(members) = &root.value else {
        return Err(NoticeError::Malformed(format!("$: expected object, got {}", root.value.kind())));
    };
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(canonical(&root).as_bytes()));
    let mut cx = Cx { warnings: Vec::new(), unknown: Vec::new(), unknown_total: 0, options: *options };
    let top = O { path: String::new(), m: members };
    top.note_unknown(TOP_KEYS, &mut cx);

    let apply_type = match req_str(&top, "apply_type", MAX_STRING_CHARS)?.as_str() {
        "1" => ApplyType::Refund,
        "2" => ApplyType::Rebook,
        other => return Err(NoticeError::InvalidValue(format!("apply_type: invalid value {} (allowed \"1\"=refund, \"2\"=rebook)", quote(other)))),
    };

    let a = req_obj(&top, "apply")?;
    a.note_unknown(APPLY_KEYS, &mut cx);
    let apply = Apply {
        id: req_str(&a, "id", MAX_STRING_CHARS)?,
        name: req_str(&a, "name", MAX_STRING_CHARS)?,
        apply_reason: opt_str(&a, "apply_reason", MAX_TEXT_CHARS)?,
        remark: opt_str(&a, "remark", MAX_TEXT_CHARS)?,
    };

    let p = req_obj(&top, "proposer")?;
    p.note_unknown(PROPOSER_KEYS, &mut cx);
    let proposer = Proposer {
        id: req_str(&p, "id", MAX_STRING_CHARS)?,
        third_id: opt_str(&p, "third_id", MAX_STRING_CHARS)?,
        phone: phone(&p, "phone")?,
        name: req_str(&p, "name", MAX_STRING_CHARS)?,
        dept_id: req_str(&p, "dept_id", MAX_STRING_CHARS)?,
        third_dept_id: opt_str(&p, "third_dept_id", MAX_STRING_CHARS)?,
        all_path_dept_name: req_str(&p, "all_path_dept_name", MAX_STRING_CHARS)?,
    };

    let items = req_arr(&top, "orders")?;
    if items.is_empty() {
        return Err(NoticeError::Format("orders: at least 1 item required (got 0)".into()));
    }
    if items.len() > MAX_ORDERS {
        return Err(NoticeError::Format(format!("orders: at most {MAX_ORDERS} items (got {})", items.len())));
    }
    let mut orders = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        orders.push(order(&v.value, format!("orders[{i}]"), &mut cx)?);
    }

    let u = req_obj(&top, "user")?;
    u.note_unknown(USER_KEYS, &mut cx);
    let user = User {
        id: opt_str(&u, "id", MAX_STRING_CHARS)?,
        third_id: opt_str(&u, "third_id", MAX_STRING_CHARS)?,
        name: req_str(&u, "name", MAX_STRING_CHARS)?,
        phone: phone(&u, "phone")?,
        cert_type: cert_type(&u, &cx)?,
        cert_no: opt_str(&u, "cert_no", MAX_STRING_CHARS)?,
    };
    if user.cert_no.is_some() && user.cert_type.is_none() {
        return Err(NoticeError::Missing("user.cert_type: required when user.cert_no is given".into()));
    }

    let contacter_name = req_str(&top, "contacter_name", MAX_STRING_CHARS)?;
    let contacter_phone = phone(&top, "contacter_phone")?;

    let mut cost_attributions = Vec::new();
    if let Some(v) = top.get("cost_attributions") {
        let Value::Array(items) = v else {
            return Err(wrong_type("cost_attributions", "array", v));
        };
        if items.len() > MAX_COST_ATTRIBUTIONS {
            return Err(NoticeError::Format(format!("cost_attributions: at most {MAX_COST_ATTRIBUTIONS} items (got {})", items.len())));
        }
        for (i, v) in items.iter().enumerate() {
            let c = obj(&v.value, format!("cost_attributions[{i}]"))?;
            c.note_unknown(COST_KEYS, &mut cx);
            let weight_path = c.p("weight");
            let weight = match c.get("weight") {
                None => return Err(missing(&weight_path)),
                Some(w) => decimal(w, &weight_path)?,
            };
            if weight <= Decimal::ZERO || weight > Decimal::ONE_HUNDRED {
                return Err(NoticeError::Format(format!("{weight_path}: must be in (0, 100] (got {weight})")));
            }
            cost_attributions.push(CostAttribution {
                id: req_str(&c, "id", MAX_STRING_CHARS)?,
                third_id: opt_str(&c, "third_id", MAX_STRING_CHARS)?,
                name: req_str(&c, "name", MAX_STRING_CHARS)?,
                weight,
            });
        }
    }

    // V11: shape by apply_type.
    match apply_type {
        ApplyType::Refund => {
            if orders.iter().any(|o| o.order_type == OrderType::New) {
                return Err(NoticeError::Inconsistent("orders: refund notice must not contain type \"2\" orders".into()));
            }
        }
        ApplyType::Rebook => {
            if !orders.iter().any(|o| o.order_type == OrderType::Original) {
                return Err(NoticeError::Inconsistent("orders: rebook notice needs a type \"1\" order".into()));
            }
            if !orders.iter().any(|o| o.order_type == OrderType::New) {
                return Err(NoticeError::Inconsistent("orders: rebook notice needs a type \"2\" order".into()));
            }
            let first = orders[0].category;
            if let Some(i) = orders.iter().position(|o| o.category != first) {
                return Err(NoticeError::Inconsistent(format!(
                    "orders[{i}].category: rebook orders must share one category (got {}, orders[0] has {})",
                    orders[i].category.code(),
                    first.code()
                )));
            }
        }
    }

    let mut unknown_fields = cx.unknown;
    if cx.unknown_total > unknown_fields.len() {
        unknown_fields.push(format!("(and {} more)", cx.unknown_total - unknown_fields.len()));
    }
    Ok(Notice {
        apply_type,
        apply,
        proposer,
        orders,
        user,
        contacter_name,
        contacter_phone,
        cost_attributions,
        digest,
        warnings: cx.warnings,
        unknown_fields,
    })
}

const TOP_KEYS: &[&str] = &["apply_type", "apply", "proposer", "orders", "user", "contacter_name", "contacter_phone", "cost_attributions"];
const APPLY_KEYS: &[&str] = &["id", "name", "apply_reason", "remark"];
const PROPOSER_KEYS: &[&str] = &["id", "third_id", "phone", "name", "dept_id", "third_dept_id", "all_path_dept_name"];
const ORDER_KEYS: &[&str] = &[
    "category",
    "type",
    "id",
    "rebook_price",
    "start_city",
    "end_city",
    "start_station",
    "end_station",
    "start_date",
    "end_date",
    "start_data",
    "end_data",
    "start_time",
    "end_time",
    "hotel_name",
    "hotel_address",
    "room_number",
    "room_type",
    "train_code",
    "seat_type",
    "seat_location",
    "flight_code",
    "airline_name",
    "cabin",
];
const USER_KEYS: &[&str] = &["id", "third_id", "name", "phone", "cert_type", "cert_no"];
const COST_KEYS: &[&str] = &["id", "third_id", "name", "weight"];

struct Cx {
    warnings: Vec<String>,
    unknown: Vec<String>,
    unknown_total: usize,
    options: ValidateOptions,
}

/// An object being read, with its path.
struct O<'a> {
    path: String,
    m: &'a [(String, Node)],
}

impl<'a> O<'a> {
    /// A member; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.m.iter().find(|(k, _)| k == key).map(|(_, v)| &v.value).filter(|v| !v.is_null())
    }
    fn p(&self, key: &str) -> String {
        child_path(&self.path, key)
    }
    fn note_unknown(&self, known: &[&str], cx: &mut Cx) {
        for (k, _) in self.m {
            if !known.contains(&k.as_str()) {
                cx.unknown_total += 1;
                if cx.unknown.len() < MAX_UNKNOWN_KEPT {
                    cx.unknown.push(self.p(k));
                }
            }
        }
    }
}

fn missing(path: &str) -> NoticeError {
    NoticeError::Missing(format!("{path}: missing required field"))
}

fn wrong_type(path: &str, expected: &str, got: &Value) -> NoticeError {
    NoticeError::WrongType(format!("{}: expected {expected}, got {}", shown(path), describe(got)))
}

fn obj(v: &Value, path: String) -> Result<O<'_>, NoticeError> {
    match v {
        Value::Object(m) => Ok(O { path, m }),
        other => Err(wrong_type(&path, "object", other)),
    }
}

fn req_obj<'a>(o: &O<'a>, key: &str) -> Result<O<'a>, NoticeError> {
    let p = o.p(key);
    let v = o.get(key).ok_or_else(|| missing(&p))?;
    obj(v, p)
}

fn req_arr<'a>(o: &O<'a>, key: &str) -> Result<&'a [Node], NoticeError> {
    let p = o.p(key);
    match o.get(key) {
        None => Err(missing(&p)),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(wrong_type(&p, "array", other)),
    }
}

/// A string value within `max` characters.
fn string_of<'a>(v: &'a Value, path: &str, max: usize) -> Result<&'a str, NoticeError> {
    match v {
        Value::String(s) => {
            let n = s.chars().count();
            if n > max {
                return Err(NoticeError::Format(format!("{path}: longer than {max} characters (got {n})")));
            }
            Ok(s)
        }
        other => Err(wrong_type(path, "string", other)),
    }
}

/// A required string: present, a string, not blank after trimming.
fn req_str(o: &O<'_>, key: &str, max: usize) -> Result<String, NoticeError> {
    let p = o.p(key);
    let v = o.get(key).ok_or_else(|| missing(&p))?;
    let s = string_of(v, &p, max)?;
    if s.trim().is_empty() {
        return Err(NoticeError::Missing(format!("{p}: missing required field (got blank string {})", quote(s))));
    }
    Ok(s.to_string())
}

/// An optional string; blank is absent (V16).
fn opt_str(o: &O<'_>, key: &str, max: usize) -> Result<Option<String>, NoticeError> {
    let p = o.p(key);
    match o.get(key) {
        None => Ok(None),
        Some(v) => {
            let s = string_of(v, &p, max)?;
            Ok((!s.trim().is_empty()).then(|| s.to_string()))
        }
    }
}

/// V9: `^\+?[0-9-]{5,20}$`.
fn phone(o: &O<'_>, key: &str) -> Result<String, NoticeError> {
    let s = req_str(o, key, MAX_STRING_CHARS)?;
    let body = s.strip_prefix('+').unwrap_or(&s);
    let ok = (5..=20).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(NoticeError::Format(format!("{}: not a valid phone number ({})", o.p(key), quote(&s))));
    }
    Ok(s)
}

/// An integer written as one (`6`, not `6.0` or `"6"`): `Ok(Some(n))`, or `Ok(None)` when it
/// does not fit an i64 (then out of every enumeration anyway).
fn integer(v: &Value, path: &str) -> Result<Option<i64>, NoticeError> {
    match v {
        Value::Number(t) if is_integer_text(t) => Ok(t.parse().ok()),
        other => Err(wrong_type(path, "integer", other)),
    }
}

fn is_integer_text(t: &str) -> bool {
    let d = t.strip_prefix('-').unwrap_or(t);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn num_text(v: &Value) -> String {
    match v {
        Value::Number(t) if t.chars().count() <= 40 => t.clone(),
        Value::Number(t) => format!("{}…", t.chars().take(40).collect::<String>()),
        other => describe(other),
    }
}

fn cert_type(u: &O<'_>, cx: &Cx) -> Result<Option<u8>, NoticeError> {
    let p = u.p("cert_type");
    let Some(v) = u.get("cert_type") else { return Ok(None) };
    let low = if cx.options.allow_cert_type_unknown { 0 } else { 1 };
    match integer(v, &p)? {
        Some(n) if (low..=6).contains(&n) => Ok(Some(n as u8)),
        _ => Err(NoticeError::InvalidValue(format!("{p}: invalid value {} (allowed {low}–6)", num_text(v)))),
    }
}

/// A decimal: a JSON number or a numeric string (`-?digits(.digits)?`), read exactly from its
/// text; at most 2 decimal places, not negative, at most 15 integer digits. Returned with
/// scale 2 (yuan and fen).
fn decimal(v: &Value, path: &str) -> Result<Decimal, NoticeError> {
    let (text, shown_value) = match v {
        Value::Number(t) => (t.as_str(), num_text(v)),
        Value::String(s) => (s.as_str(), quote(s)),
        other => return Err(wrong_type(path, "number or numeric string", other)),
    };
    let not_decimal = || NoticeError::Format(format!("{path}: not a decimal (got {shown_value})"));
    if let Value::String(s) = v {
        if !is_plain_decimal(s) {
            return Err(not_decimal());
        }
    }
    let n = exact_number(text).ok_or_else(not_decimal)?;
    if n.negative {
        return Err(NoticeError::Format(format!("{path}: must not be negative (got {shown_value})")));
    }
    if n.exponent < -2 {
        return Err(NoticeError::Format(format!("{path}: at most 2 decimal places (got {shown_value})")));
    }
    if n.digits.len() as i64 + n.exponent > MAX_INTEGER_DIGITS {
        return Err(NoticeError::Format(format!("{path}: out of range (got {shown_value})")));
    }
    // value = digits × 10^exponent with exponent ≥ -2 and at most 15 integer digits: exact.
    let mut d = if n.digits.is_empty() {
        Decimal::ZERO
    } else {
        let mantissa: i64 = n.digits.parse().map_err(|_| not_decimal())?;
        let mut d = Decimal::from(mantissa);
        if n.exponent >= 0 {
            for _ in 0..n.exponent {
                d = d.checked_mul(Decimal::TEN).ok_or_else(not_decimal)?;
            }
        } else {
            d = Decimal::new(mantissa, (-n.exponent) as u32);
        }
        d
    };
    d.rescale(2);
    Ok(d)
}

fn is_plain_decimal(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match d.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (d, None),
    };
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// V9: `YYYY-MM-DD`, a real calendar date.
fn date_of(s: &str, path: &str) -> Result<NaiveDate, NoticeError> {
    let b = s.as_bytes();
    let shape = b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    let date = shape
        .then(|| {
            let y: i32 = s[0..4].parse().ok()?;
            let m: u32 = s[5..7].parse().ok()?;
            let d: u32 = s[8..10].parse().ok()?;
            NaiveDate::from_ymd_opt(y, m, d)
        })
        .flatten();
    date.ok_or_else(|| NoticeError::Format(format!("{path}: not a valid YYYY-MM-DD date ({})", quote(s))))
}

/// V9: `HH:mm`, 00:00–23:59.
fn time_of(s: &str, path: &str) -> Result<NaiveTime, NoticeError> {
    let b = s.as_bytes();
    let shape = b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    let time = shape.then(|| NaiveTime::from_hms_opt(s[0..2].parse().ok()?, s[3..5].parse().ok()?, 0)).flatten();
    time.ok_or_else(|| NoticeError::Format(format!("{path}: not a valid HH:mm time ({})", quote(s))))
}

/// V12: `start_date` or its alias `start_data` (same for `end_`); both with different values
/// is an error; the alias alone is normalised with a warning.
fn date_field(o: &O<'_>, canonical: &str, alias: &str, cx: &mut Cx) -> Result<NaiveDate, NoticeError> {
    let (pc, pa) = (o.p(canonical), o.p(alias));
    let read = |key: &str, path: &str| -> Result<Option<&str>, NoticeError> {
        match o.get(key) {
            None => Ok(None),
            Some(v) => Ok(Some(string_of(v, path, MAX_STRING_CHARS)?).filter(|s| !s.trim().is_empty())),
        }
    };
    let a = read(canonical, &pc)?;
    let b = read(alias, &pa)?;
    match (a, b) {
        (None, None) => Err(missing(&pc)),
        (Some(x), None) => date_of(x, &pc),
        (None, Some(y)) => {
            cx.warnings.push(format!("{pa}: non-standard spelling of {canonical}, normalised"));
            date_of(y, &pa)
        }
        (Some(x), Some(y)) if x != y => {
            Err(NoticeError::Inconsistent(format!("{}: {canonical} and {alias} disagree ({} vs {})", o.path, quote(x), quote(y))))
        }
        (Some(x), Some(_)) => {
            cx.warnings.push(format!("{pa}: duplicates {canonical} with the same value, ignored"));
            date_of(x, &pc)
        }
    }
}

fn opt_time(o: &O<'_>, key: &str) -> Result<Option<NaiveTime>, NoticeError> {
    let p = o.p(key);
    opt_str(o, key, MAX_STRING_CHARS)?.map(|s| time_of(&s, &p)).transpose()
}

fn order(v: &Value, path: String, cx: &mut Cx) -> Result<Order, NoticeError> {
    let o = obj(v, path)?;
    o.note_unknown(ORDER_KEYS, cx);

    let cp = o.p("category");
    let cv = o.get("category").ok_or_else(|| missing(&cp))?;
    let category = match integer(cv, &cp)? {
        Some(6) => Category::Flight,
        Some(8) => Category::Hotel,
        Some(9) => Category::Train,
        Some(7) => return Err(NoticeError::InvalidValue(format!("{cp}: 7 (international flight) not supported; allowed 6, 8, 9"))),
        _ => return Err(NoticeError::InvalidValue(format!("{cp}: invalid value {} (allowed 6=flight, 8=hotel, 9=train)", num_text(cv)))),
    };
    let order_type = match req_str(&o, "type", MAX_STRING_CHARS)?.as_str() {
        "1" => OrderType::Original,
        "2" => OrderType::New,
        other => {
            return Err(NoticeError::InvalidValue(format!("{}: invalid value {} (allowed \"1\"=original, \"2\"=new)", o.p("type"), quote(other))))
        }
    };
    let id = opt_str(&o, "id", MAX_STRING_CHARS)?;
    if order_type == OrderType::Original && id.is_none() {
        return Err(NoticeError::Missing(format!("{}: required when type=\"1\"", o.p("id"))));
    }
    let rebook_price = match o.get("rebook_price") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(decimal(v, &o.p("rebook_price"))?),
    };
    let start_city = req_str(&o, "start_city", MAX_STRING_CHARS)?;
    let end_city = req_str(&o, "end_city", MAX_STRING_CHARS)?;
    let start_station = opt_str(&o, "start_station", MAX_STRING_CHARS)?;
    let end_station = opt_str(&o, "end_station", MAX_STRING_CHARS)?;
    let start_date = date_field(&o, "start_date", "start_data", cx)?;
    let end_date = date_field(&o, "end_date", "end_data", cx)?;
    let start_time = opt_time(&o, "start_time")?;
    let end_time = opt_time(&o, "end_time")?;

    // Every known field is type-checked whatever the category; only the category's own are kept.
    let s = |k: &str| opt_str(&o, k, MAX_STRING_CHARS);
    let (flight_code, airline_name, cabin) = (s("flight_code")?, s("airline_name")?, s("cabin")?);
    let (hotel_name, hotel_address, room_type) = (s("hotel_name")?, s("hotel_address")?, s("room_type")?);
    let (train_code, seat_type, seat_location) = (s("train_code")?, s("seat_type")?, s("seat_location")?);
    let room_number = match o.get("room_number") {
        None => None,
        Some(v) => {
            let p = o.p("room_number");
            match integer(v, &p)? {
                Some(n) if (1..=99).contains(&n) => Some(n as u8),
                _ => return Err(NoticeError::Format(format!("{p}: must be between 1 and 99 (got {})", num_text(v)))),
            }
        }
    };

    let why = format!("category={}", category.code());
    let need = |v: Option<String>, key: &str| v.ok_or_else(|| NoticeError::Missing(format!("{}: required when {why}", o.p(key))));
    let need_t = |v: Option<NaiveTime>, key: &str| v.ok_or_else(|| NoticeError::Missing(format!("{}: required when {why}", o.p(key))));
    let details = match category {
        Category::Flight => {
            let d = OrderDetails::Flight {
                flight_code: need(flight_code, "flight_code")?,
                airline_name: need(airline_name, "airline_name")?,
                cabin: need(cabin, "cabin")?,
            };
            need_t(start_time, "start_time")?;
            need_t(end_time, "end_time")?;
            need(start_station.clone(), "start_station")?;
            need(end_station.clone(), "end_station")?;
            d
        }
        Category::Hotel => OrderDetails::Hotel {
            hotel_name: need(hotel_name, "hotel_name")?,
            hotel_address: need(hotel_address, "hotel_address")?,
            room_type: need(room_type, "room_type")?,
            room_number,
        },
        Category::Train => {
            let d = OrderDetails::Train { train_code: need(train_code, "train_code")?, seat_type: need(seat_type, "seat_type")?, seat_location };
            need_t(start_time, "start_time")?;
            need_t(end_time, "end_time")?;
            d
        }
    };

    // V10: chronology within the order.
    match (category, start_time, end_time) {
        (Category::Hotel, _, _) => {
            if end_date < start_date {
                return Err(NoticeError::Inconsistent(format!("{}: end_date {end_date} is before start_date {start_date}", o.path)));
            }
            if end_date == start_date {
                cx.warnings.push(format!("{}: hotel stay ends on its start date {start_date}", o.path));
            }
        }
        (_, Some(st), Some(et)) if end_date.and_time(et) < start_date.and_time(st) => {
            return Err(NoticeError::Inconsistent(format!(
                "{}: ends before it starts (end {end_date} {} < start {start_date} {})",
                o.path,
                et.format("%H:%M"),
                st.format("%H:%M")
            )));
        }
        _ => {}
    }

    Ok(Order {
        category,
        order_type,
        id,
        rebook_price,
        start_city,
        end_city,
        start_station,
        end_station,
        start_date,
        end_date,
        start_time,
        end_time,
        details,
    })
}
