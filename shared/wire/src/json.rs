//! Strict JSON intake for Fliggy bodies (fliggy-bus.md §2.5): the body is one JSON object,
//! duplicate keys are refused (at any depth), `null` and `""` in an optional String mean
//! absent, Strings are trimmed, and every problem names its field path.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A problem with one field, rendered `path: problem` (the `retDesc` of `invalid-parameter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError { path: path.into(), problem: problem.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

/// A `serde_json::Value` built by a visitor that refuses duplicate object keys.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses a body that must be one JSON object, refusing duplicate keys.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, FieldError> {
    let Strict(v) = serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        // serde_json appends "at line L column C"; keep it, it helps the caller find the spot.
        FieldError::new("body", if msg.contains("duplicate key") { msg } else { format!("malformed JSON: {msg}") })
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(FieldError::new("body", "must be a JSON object")),
    }
}

/// An object inside a list, with its path (`passengerList[1]`).
pub type Nested<'a> = (String, &'a Map<String, Value>);

/// Typed, path-aware access to the fields of one JSON object.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields { map, prefix: "" }
    }

    /// Fields of a nested object, reported under `prefix` (e.g. `passengerList[1]`).
    pub fn nested(map: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Fields { map, prefix }
    }

    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn err(&self, name: &str, problem: impl Into<String>) -> FieldError {
        FieldError::new(self.path(name), problem)
    }

    /// The raw value, `null` read as absent.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// An optional String: trimmed; absent, `null` or blank → `None`. Numbers are refused.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.chars().count() > 256 {
                    return Err(self.err(name, "longer than 256 characters"));
                }
                Ok((!t.is_empty()).then(|| t.to_string()))
            }
            Some(_) => Err(self.err(name, "must be a string")),
        }
    }

    /// A required String: present, a String, not blank.
    pub fn req_str(&self, name: &str) -> Result<String, FieldError> {
        match self.raw(name) {
            None => Err(self.err(name, "required")),
            Some(Value::String(s)) if s.trim().is_empty() => Err(self.err(name, "required (empty)")),
            Some(_) => Ok(self.opt_str(name)?.expect("not blank")),
        }
    }

    /// A String that may also arrive as a JSON integer (codes, §2.5).
    pub fn opt_code(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.raw(name) {
            Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
            Some(Value::Number(_)) => Err(self.err(name, "must be a non-negative integer or a string")),
            _ => self.opt_str(name),
        }
    }

    /// An optional non-negative integer no larger than `max`.
    pub fn opt_int(&self, name: &str, max: u64) -> Result<Option<u64>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(Some(v)),
                Some(_) => Err(self.err(name, format!("must be at most {max}"))),
                None => Err(self.err(name, "must be a non-negative integer")),
            },
            Some(_) => Err(self.err(name, "must be a number")),
        }
    }

    /// A required integer in `[min, max]`.
    pub fn req_int(&self, name: &str, min: u64, max: u64) -> Result<u64, FieldError> {
        let v = self.opt_int(name, max)?.ok_or_else(|| self.err(name, "required"))?;
        if v < min {
            return Err(self.err(name, format!("must be at least {min}")));
        }
        Ok(v)
    }

    /// An optional money amount in fen: a JSON integer 0–10⁹ (no fraction, no exponent).
    pub fn opt_fen(&self, name: &str) -> Result<Option<i64>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= 1_000_000_000 => Ok(Some(v as i64)),
                Some(_) => Err(self.err(name, "must be at most 1000000000 fen")),
                None => Err(self.err(name, "must be an integer amount in fen")),
            },
            Some(_) => Err(self.err(name, "must be a number (fen)")),
        }
    }

    pub fn req_fen(&self, name: &str) -> Result<i64, FieldError> {
        self.opt_fen(name)?.ok_or_else(|| self.err(name, "required"))
    }

    /// An optional Boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(name, "must be a boolean")),
        }
    }

    /// An optional list of objects; each element is passed with its path (`name[i]`).
    pub fn opt_objects(&self, name: &str) -> Result<Option<Vec<Nested<'a>>>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = format!("{}[{i}]", self.path(name));
                    match v {
                        Value::Object(m) => Ok((path, m)),
                        _ => Err(FieldError::new(path, "must be an object")),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.err(name, "must be a list")),
        }
    }

    /// An optional id of `[A-Za-z0-9_-]{1,64}` (Busgate ids, §2.5).
    pub fn opt_id(&self, name: &str) -> Result<Option<String>, FieldError> {
        let v = self.opt_str(name)?;
        if let Some(s) = &v {
            if s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                return Err(self.err(name, "must be 1-64 characters of A-Z a-z 0-9 _ -"));
            }
        }
        Ok(v)
    }

    pub fn req_id(&self, name: &str) -> Result<String, FieldError> {
        self.req_str(name)?;
        Ok(self.opt_id(name)?.expect("present"))
    }

    /// `alitripOrderId`: a String of 1–19 digits, at most i64::MAX (TOP echoes it as a long).
    /// A JSON number is refused: ids are Strings (§2.5), and a large one would lose digits in
    /// a client that reads numbers as doubles.
    pub fn req_alitrip_order_id(&self, name: &str) -> Result<String, FieldError> {
        let v = self.req_str(name)?;
        if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<i64>().is_err() {
            return Err(self.err(name, "must be 1-19 digits, at most 9223372036854775807"));
        }
        Ok(v)
    }

    /// An optional date `yyyy-MM-dd` (§2.5), strictly: chrono alone also takes `2026-1-5` or a sign.
    pub fn opt_date(&self, name: &str) -> Result<Option<NaiveDate>, FieldError> {
        self.opt_str(name)?.map(|s| strict_date(&s).ok_or_else(|| self.err(name, "must be a date yyyy-MM-dd"))).transpose()
    }

    pub fn req_date(&self, name: &str) -> Result<NaiveDate, FieldError> {
        self.opt_date(name)?.ok_or_else(|| self.err(name, "required"))
    }

    /// An optional time `HH:mm` (= `:00`) or `HH:mm:ss` (§2.5), strictly (no `8:30`, no leap second).
    pub fn opt_time(&self, name: &str) -> Result<Option<NaiveTime>, FieldError> {
        self.opt_str(name)?.map(|s| strict_time(&s).ok_or_else(|| self.err(name, "must be a time HH:mm or HH:mm:ss"))).transpose()
    }

    pub fn req_time(&self, name: &str) -> Result<NaiveTime, FieldError> {
        self.opt_time(name)?.ok_or_else(|| self.err(name, "required"))
    }

    /// An optional local date-time `yyyy-MM-dd HH:mm:ss` (the caller applies GMT+8).
    pub fn opt_date_time(&self, name: &str) -> Result<Option<NaiveDateTime>, FieldError> {
        self.opt_str(name)?
            .map(|s| {
                s.split_once(' ')
                    .filter(|(_, t)| has_shape(t, "99:99:99"))
                    .and_then(|(d, t)| Some(strict_date(d)?.and_time(strict_time(t)?)))
                    .ok_or_else(|| self.err(name, "must be yyyy-MM-dd HH:mm:ss (GMT+8)"))
            })
            .transpose()
    }
}

/// Whether `s` has exactly the shape of `pattern`, where `9` stands for an ASCII digit and
/// every other character for itself.
fn has_shape(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len() && s.bytes().zip(pattern.bytes()).all(|(c, p)| if p == b'9' { c.is_ascii_digit() } else { c == p })
}

fn strict_date(s: &str) -> Option<NaiveDate> {
    has_shape(s, "9999-99-99").then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

/// `HH:mm` or `HH:mm:ss`, seconds 00–59.
fn strict_time(s: &str) -> Option<NaiveTime> {
    if has_shape(s, "99:99") {
        NaiveTime::parse_from_str(s, "%H:%M").ok()
    } else if has_shape(s, "99:99:99") && &s[6..] < "60" {
        NaiveTime::parse_from_str(s, "%H:%M:%S").ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_strict() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"d":"2026-11-26","bad_d":"2026-1-05","signed":"+2026-11-26","t":"08:30","ts":"08:30:59","leap":"08:30:60","short":"8:30","dt":"2026-11-27 08:00:00","bad_dt":"2026-11-27 8:00:00","hm_dt":"2026-11-27 08:00"}"#,
        )
        .unwrap();
        let f = Fields::new(&m);
        assert_eq!(f.req_date("d").unwrap(), NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        for bad in ["bad_d", "signed"] {
            assert_eq!(f.opt_date(bad).unwrap_err().to_string(), format!("{bad}: must be a date yyyy-MM-dd"));
        }
        assert_eq!(f.req_time("t").unwrap(), NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(f.req_time("ts").unwrap(), NaiveTime::from_hms_opt(8, 30, 59).unwrap());
        for bad in ["leap", "short"] {
            assert!(f.opt_time(bad).is_err(), "{bad}");
        }
        assert!(f.opt_date_time("dt").unwrap().is_some());
        for bad in ["bad_dt", "hm_dt"] {
            assert!(f.opt_date_time(bad).is_err(), "{bad}");
        }
        assert_eq!(f.req_time("missing").unwrap_err().to_string(), "missing: required");
    }
}
