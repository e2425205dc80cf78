//! A JSON tree that keeps what a strict receiver needs and `serde_json::Value` loses: the exact
//! text of every number (read through [`RawValue`], never through `f64`), the order of object
//! members, and duplicate member names (rejected). It also writes the canonical form used for
//! the idempotency digest.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use busgate_domain::notices::NoticeError;

/// Deepest nesting accepted (a notice needs 3; unknown extra fields get some room).
pub const MAX_DEPTH: usize = 16;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    /// The number exactly as written in the body.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    /// Members in body order; names are unique (duplicates are rejected while parsing).
    Obj(Vec<(String, J)>),
}

impl J {
    /// The JSON type, as named in error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Num(_) => "number",
            J::Str(_) => "string",
            J::Arr(_) => "array",
            J::Obj(_) => "object",
        }
    }

    /// `string "6"`, `number 1`, `array`: the type and (for scalars) the value, shortened.
    pub(crate) fn describe(&self) -> String {
        match self {
            J::Null => "null".to_string(),
            J::Bool(b) => format!("boolean {b}"),
            J::Num(n) => format!("number {}", shorten(n, 40)),
            J::Str(s) => format!("string {}", quote(s)),
            J::Arr(_) => "array".to_string(),
            J::Obj(_) => "object".to_string(),
        }
    }
}

/// A string value as shown in a message: JSON-quoted, at most 64 characters of it.
pub(crate) fn quote(s: &str) -> String {
    serde_json::to_string(&shorten(s, 64)).unwrap_or_else(|_| "\"?\"".to_string())
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// 1-based line and column of byte `offset` (column counted in characters, like serde_json).
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// Parses a whole body: UTF-8, well-formed JSON (serde_json's grammar and its error position),
/// no duplicate member names, at most [`MAX_DEPTH`] levels.
pub(crate) fn parse(body: &[u8]) -> Result<J, NoticeError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let (line, column) = line_col(body, e.valid_up_to());
        NoticeError::Malformed(format!("malformed JSON at line {line} column {column}: invalid UTF-8"))
    })?;
    let raw: &RawValue =
        serde_json::from_str(text).map_err(|e| NoticeError::Malformed(format!("malformed JSON at line {} column {}", e.line(), e.column())))?;
    build(raw.get(), "", 0)
}

/// Members of one object, values left as raw text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    let v: &'de RawValue = map.next_value()?;
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn build(raw: &str, path: &str, depth: usize) -> Result<J, NoticeError> {
    // The whole document was validated by the first parse; a failure here is unexpected but
    // still answered as malformed input, never a panic.
    let internal = |e: serde_json::Error| NoticeError::Malformed(format!("malformed JSON at {}: {e}", shown(path)));
    let first = raw.as_bytes().first().copied().unwrap_or(b' ');
    if matches!(first, b'{' | b'[') && depth >= MAX_DEPTH {
        return Err(NoticeError::Format(format!("{}: nested deeper than {MAX_DEPTH} levels", shown(path))));
    }
    Ok(match first {
        b'{' => {
            let Members(members) = serde_json::from_str(raw).map_err(internal)?;
            let mut seen = HashSet::with_capacity(members.len());
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                let p = child_path(path, &k);
                if !seen.insert(k.clone()) {
                    return Err(NoticeError::Malformed(format!("{p}: duplicate member name {}", quote(&k))));
                }
                let value = build(v.get(), &p, depth + 1)?;
                out.push((k, value));
            }
            J::Obj(out)
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(raw).map_err(internal)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.into_iter().enumerate() {
                out.push(build(v.get(), &format!("{path}[{i}]"), depth + 1)?);
            }
            J::Arr(out)
        }
        b'"' => J::Str(serde_json::from_str(raw).map_err(internal)?),
        b't' => J::Bool(true),
        b'f' => J::Bool(false),
        b'n' => J::Null,
        _ => J::Num(raw.to_string()),
    })
}

/// `$` for the root, else the path.
pub(crate) fn shown(path: &str) -> &str {
    if path.is_empty() {
        "$"
    } else {
        path
    }
}

/// A JSON number split exactly: `value = (-1)^negative × digits × 10^exponent`, `digits`
/// without leading or trailing zeros (empty for zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExactNumber {
    pub negative: bool,
    pub digits: String,
    pub exponent: i64,
}

/// Splits a number written in JSON grammar (`-?int(.frac)?([eE][+-]?exp)?`). `None` if the text
/// is not such a number or its exponent is absurd (more than 9 digits).
pub(crate) fn exact_number(text: &str) -> Option<ExactNumber> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if mantissa.contains('.') && (frac_part.is_empty() || !frac_part.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut exponent: i64 = match exp_text {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: i64 = digits.parse().ok()?;
            if e.starts_with('-') {
                -n
            } else {
                n
            }
        }
    };
    let mut all = format!("{int_part}{frac_part}");
    exponent -= frac_part.len() as i64;
    let trimmed_start = all.trim_start_matches('0').len();
    all = all[all.len() - trimmed_start..].to_string();
    while all.ends_with('0') {
        all.pop();
        exponent += 1;
    }
    if all.is_empty() {
        return Some(ExactNumber { negative: false, digits: String::new(), exponent: 0 });
    }
    Some(ExactNumber { negative, digits: all, exponent })
}

/// Canonical JSON text: RFC 8785 (JCS) layout — no insignificant whitespace, object members
/// sorted by the UTF-16 code units of their names, JCS string escaping (which is
/// serde_json's) — except numbers, which are written from their exact decimal value
/// (`100.00`, `1e2` and `100` all become `100`) instead of through an IEEE-754 double, so
/// that two different long numbers can never collide.
pub(crate) fn canonical(j: &J) -> String {
    let mut out = String::new();
    write_canonical(j, &mut out);
    out
}

fn write_canonical(j: &J, out: &mut String) {
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(text) => match exact_number(text) {
            Some(n) => write_number(&n, out),
            None => out.push_str(text),
        },
        J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        J::Obj(members) => {
            let mut sorted: Vec<&(String, J)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

/// ES6-like layout of an exact number: plain digits while the decimal exponent stays in
/// [-6, 21), scientific notation outside.
fn write_number(n: &ExactNumber, out: &mut String) {
    if n.digits.is_empty() {
        out.push('0');
        return;
    }
    if n.negative {
        out.push('-');
    }
    let len = n.digits.len() as i64;
    let point = len + n.exponent; // position of the decimal point from the left of digits
    if n.exponent >= 0 && point <= 21 {
        out.push_str(&n.digits);
        out.extend(std::iter::repeat_n('0', n.exponent as usize));
    } else if n.exponent < 0 && point > 0 {
        let (a, b) = n.digits.split_at(point as usize);
        let _ = write!(out, "{a}.{b}");
    } else if n.exponent < 0 && point > -6 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&n.digits);
    } else {
        let (a, b) = n.digits.split_at(1);
        out.push_str(a);
        if !b.is_empty() {
            out.push('.');
            out.push_str(b);
        }
        let e = point - 1;
        let _ = write!(out, "e{}{}", if e >= 0 { "+" } else { "-" }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical_and_exact() {
        let c = |t: &str| canonical(&J::Num(t.to_string()));
        assert_eq!(c("100.00"), "100");
        assert_eq!(c("1e2"), "100");
        assert_eq!(c("0"), "0");
        assert_eq!(c("-0.0"), "0");
        assert_eq!(c("12.50"), "12.5");
        assert_eq!(c("0.000001"), "0.000001");
        assert_eq!(c("0.0000001"), "1e-7");
        assert_eq!(c("1e21"), "1e+21");
        assert_eq!(c("123456789012345678901"), "123456789012345678901");
        assert_ne!(c("12345678901234567890123"), c("12345678901234567890124"));
    }

    #[test]
    fn objects_sort_by_utf16_and_duplicates_fail() {
        let j = parse(br#"{"b":1,"a":[true,null,"x\u00e9"],"\u00e9":{}}"#).unwrap();
        assert_eq!(canonical(&j), "{\"a\":[true,null,\"xé\"],\"b\":1,\"é\":{}}");
        assert!(matches!(parse(br#"{"a":{"b":1,"b":1}}"#), Err(NoticeError::Malformed(m)) if m.starts_with("a.b: duplicate")));
    }

    #[test]
    fn positions_and_depth() {
        let e = parse(br#"{"apply_type":"1","#).unwrap_err();
        assert_eq!(e.to_string(), "malformed JSON at line 1 column 18");
        let e = parse(b"{\"a\":\n\"\xff\"}").unwrap_err();
        assert_eq!(e.to_string(), "malformed JSON at line 2 column 2: invalid UTF-8");
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(matches!(parse(deep.as_bytes()), Err(NoticeError::Format(_))));
    }
}
