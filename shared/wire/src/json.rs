//! Strict JSON intake for Fliggy bodies (fliggy-bus.md §2.5), on the one strict parser
//! ([`busgate_json`], which the relation, Fenbeitong and catalogue readers share): the body is
//! one JSON object, duplicate keys are refused (at any depth), numbers are read from their exact
//! text (never through `f64`), `null` and `""` in an optional String mean absent, Strings are
//! trimmed, and every problem names its field path.

use std::fmt;

use busgate_json::{member, Node, Value};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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

/// Deepest nesting of a body (a create order needs 3).
pub const MAX_DEPTH: usize = 32;

/// The members of a JSON object, in body order.
pub type Object = Vec<(String, Node)>;

/// Parses a body that must be one JSON object (the one strict intake, [`busgate_json`]),
/// refusing a repeated key at any depth with its path.
pub fn parse_object(body: &[u8]) -> Result<Object, FieldError> {
    let root = busgate_json::parse(body, MAX_DEPTH).map_err(|e| match e {
        busgate_json::Error::Syntax(s) => FieldError::new("body", format!("malformed JSON: {s}")),
        busgate_json::Error::TooDeep { path, limit, .. } => FieldError::new(path, format!("nested deeper than {limit} levels")),
    })?;
    if let Some(d) = root.first_duplicate() {
        return Err(FieldError::new(d.path, "duplicate key"));
    }
    match root.value {
        Value::Object(members) => Ok(members),
        _ => Err(FieldError::new("body", "must be a JSON object")),
    }
}

/// A JSON integer's text as a `u64`: digits only (no sign, fraction or exponent), in range.
fn whole_number(text: &str) -> Option<u64> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
}

/// An object inside a list, with its path (`passengerList[1]`).
pub type Nested<'a> = (String, &'a [(String, Node)]);

/// Typed, path-aware access to the fields of one JSON object.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    members: &'a [(String, Node)],
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(members: &'a [(String, Node)]) -> Self {
        Fields { members, prefix: "" }
    }

    /// Fields of a nested object, reported under `prefix` (e.g. `passengerList[1]`).
    pub fn nested(members: &'a [(String, Node)], prefix: &'a str) -> Self {
        Fields { members, prefix }
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
        member(self.members, name).map(|n| &n.value).filter(|v| !v.is_null())
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
            Some(Value::Number(n)) if whole_number(n).is_some() => Ok(Some(n.clone())),
            Some(Value::Number(_)) => Err(self.err(name, "must be a non-negative integer or a string")),
            _ => self.opt_str(name),
        }
    }

    /// An optional non-negative integer no larger than `max`.
    pub fn opt_int(&self, name: &str, max: u64) -> Result<Option<u64>, FieldError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match whole_number(n) {
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
            Some(Value::Number(n)) => match whole_number(n) {
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
                    match &v.value {
                        Value::Object(m) => Ok((path, m.as_slice())),
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
        let m = parse_object(
            br#"{"d":"2026-11-26","bad_d":"2026-1-05","signed":"+2026-11-26","t":"08:30","ts":"08:30:59","leap":"08:30:60","short":"8:30","dt":"2026-11-27 08:00:00","bad_dt":"2026-11-27 8:00:00","hm_dt":"2026-11-27 08:00"}"#,
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

    #[test]
    fn numbers_are_read_from_their_exact_text() {
        let m = parse_object(br#"{"fen":100,"exp":1e2,"frac":100.0,"neg0":-0,"big":18446744073709551616,"code":123,"code_f":1.5}"#).unwrap();
        let f = Fields::new(&m);
        assert_eq!(f.req_fen("fen").unwrap(), 100);
        for name in ["exp", "frac", "neg0"] {
            assert_eq!(f.opt_fen(name).unwrap_err().to_string(), format!("{name}: must be an integer amount in fen"));
        }
        assert_eq!(f.opt_int("big", u64::MAX).unwrap_err().to_string(), "big: must be a non-negative integer");
        assert_eq!(f.opt_code("code").unwrap().as_deref(), Some("123"));
        assert!(f.opt_code("code_f").is_err());
    }

    #[test]
    fn refusals_name_the_place() {
        let e = |body: &[u8]| parse_object(body).unwrap_err().to_string();
        assert_eq!(e(br#"{"passengerList":[{"passengerName":"a","passengerName":"b"}]}"#), "passengerList[0].passengerName: duplicate key");
        assert_eq!(e(br#"{"fromCity":"#), "body: malformed JSON: unexpected end of input at line 1 column 12");
        assert_eq!(e(b"[]"), "body: must be a JSON object");
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(e(deep.as_bytes()), format!("a{}: nested deeper than 32 levels", "[0]".repeat(31)));
    }
}
