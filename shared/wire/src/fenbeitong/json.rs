//! The Fenbeitong reader's use of the one strict JSON intake ([`busgate_json`]): its limits,
//! its refusals in Fenbeitong's words (V4), and how values are shown in its messages.

use busgate_domain::notices::NoticeError;
use busgate_json::{Error, Node, Problem, Value};

/// Deepest nesting accepted (a notice needs 3; unknown extra fields get some room).
pub const MAX_DEPTH: usize = 16;

/// `string "6"`, `number 1`, `array`: the type and (for scalars) the value, shortened.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {}", shorten(n, 40)),
        Value::String(s) => format!("string {}", quote(s)),
        Value::Array(_) | Value::Object(_) => v.kind().to_string(),
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

/// Parses a whole body (V4): UTF-8, well-formed JSON, no repeated member name, at most
/// [`MAX_DEPTH`] levels. Positions as B14 quotes them: `malformed JSON at line 1 column 18`.
pub(crate) fn parse(body: &[u8]) -> Result<Node, NoticeError> {
    let root = busgate_json::parse(body, MAX_DEPTH).map_err(|e| match e {
        Error::Syntax(s) if s.problem == Problem::Encoding => {
            NoticeError::Malformed(format!("malformed JSON at line {} column {}: invalid UTF-8", s.line, s.column))
        }
        Error::Syntax(s) => NoticeError::Malformed(format!("malformed JSON at line {} column {}", s.line, s.column)),
        too_deep @ Error::TooDeep { .. } => NoticeError::Format(too_deep.to_string()),
    })?;
    match root.first_duplicate() {
        Some(d) => Err(NoticeError::Malformed(format!("{}: duplicate member name {}", d.path, quote(&d.name)))),
        None => Ok(root),
    }
}

/// `$` for the root, else the path.
pub(crate) fn shown(path: &str) -> &str {
    if path.is_empty() {
        "$"
    } else {
        path
    }
}
