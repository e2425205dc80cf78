//! The canonical text of a parsed value, for digests that must not depend on layout.

use std::fmt::Write as _;

use crate::number::{exact_number, ExactNumber};
use crate::{Node, Value};

/// Canonical JSON text: RFC 8785 (JCS) layout — no insignificant whitespace, object members
/// sorted by the UTF-16 code units of their names, JCS string escaping (which is
/// serde_json's) — except numbers, which are written from their exact decimal value
/// (`100.00`, `1e2` and `100` all become `100`) instead of through an IEEE-754 double, so
/// that two different long numbers can never collide.
pub fn canonical(node: &Node) -> String {
    let mut out = String::new();
    write_canonical(&node.value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(text) => match exact_number(text) {
            Some(n) => write_number(&n, out),
            None => out.push_str(text),
        },
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(&v.value, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<&(String, Node)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(&v.value, out);
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
        let c = |t: &str| canonical(&Node { line: 1, value: Value::Number(t.to_string()) });
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
    fn objects_sort_by_utf16_code_units() {
        let j = crate::parse(r#"{"b":1,"a":[true,null,"x\u00e9"],"\u00e9":{},"\ud83d\ude8c":0,"\uff61":0}"#.as_bytes(), 16).unwrap();
        // U+1F68C (a surrogate pair, D83D…) sorts before U+FF61 in UTF-16, after it in UTF-8.
        assert_eq!(canonical(&j), "{\"a\":[true,null,\"xé\"],\"b\":1,\"é\":{},\"🚌\":0,\"｡\":0}");
    }
}
