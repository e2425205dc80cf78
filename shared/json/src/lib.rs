//! Busgate's one strict JSON intake, used by every reader of a body or file: the Fliggy bus
//! bodies, the collaboration messages, the Fenbeitong notices and the catalogue file.
//!
//! It keeps what a strict receiver needs and `serde_json::Value` loses: the exact text of
//! every number (so a price or a 19-digit id is never rounded), the order of object members,
//! every member even when a name repeats (each reader refuses or reports duplicates in its own
//! words, with [`Node::first_duplicate`]), and the line of every value (the catalogue's
//! diagnostics). Syntax errors are placed the way serde_json places them — at the offending
//! character, or at the last character when the input ends early — so the positions the
//! partner specs quote (`malformed JSON at line 1 column 18`) hold.
//!
//! The parser is iterative: nesting deeper than the caller's limit is refused with the path of
//! the first container too deep (after the whole input has been checked for syntax), and no
//! input can exhaust the stack, while parsing or when the tree is dropped.

use std::fmt;

mod canonical;
mod number;

pub use canonical::canonical;
pub use number::{exact_number, ExactNumber};

/// A parsed JSON value and the line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based line of the value's first character.
    pub line: usize,
    pub value: Value,
}

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number exactly as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in input order; a repeated name is kept (see [`Node::first_duplicate`]).
    Object(Vec<(String, Node)>),
}

impl Value {
    /// The JSON type as error messages name it: `null`, `boolean`, `number`, `string`,
    /// `array`, `object`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The JSON type with its article, for sentences: `an object`, `a number`, `null`.
    pub fn a_kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The members of an object.
    pub fn as_object(&self) -> Option<&[(String, Node)]> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// The first member called `name` (a reader that refuses duplicates has already done so).
pub fn member<'a>(members: &'a [(String, Node)], name: &str) -> Option<&'a Node> {
    members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A repeated member name: the path of the repeat (`apply.id`), the name, and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub path: String,
    pub name: String,
    pub line: usize,
}

impl Node {
    /// The member called `name`, if this is an object that has one.
    pub fn get(&self, name: &str) -> Option<&Node> {
        member(self.value.as_object()?, name)
    }

    /// The first repeated member name in input order (an object's members before the next
    /// sibling's), with its path.
    pub fn first_duplicate(&self) -> Option<Duplicate> {
        fn walk(node: &Node, path: &str) -> Option<Duplicate> {
            match &node.value {
                Value::Object(members) => {
                    for (i, (name, value)) in members.iter().enumerate() {
                        let p = child(path, name);
                        if members[..i].iter().any(|(earlier, _)| earlier == name) {
                            return Some(Duplicate { path: p, name: name.clone(), line: value.line });
                        }
                        if let Some(d) = walk(value, &p) {
                            return Some(d);
                        }
                    }
                    None
                }
                Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| walk(v, &index(path, i))),
                _ => None,
            }
        }
        walk(self, "")
    }

    /// The line of the value at `path` (`a.b[2].c`), or of its deepest existing ancestor.
    pub fn line_of(&self, path: &str) -> usize {
        let mut node = self;
        for part in path.split('.') {
            let (name, indices) = part.find('[').map_or((part, ""), |i| part.split_at(i));
            let mut next = if name.is_empty() { Some(node) } else { node.get(name) };
            for i in indices.split('[').filter_map(|s| s.trim_end_matches(']').parse::<usize>().ok()) {
                next = next.and_then(|n| match &n.value {
                    Value::Array(items) => items.get(i),
                    _ => None,
                });
            }
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.line
    }
}

/// `parent.name` (`name` at the root).
pub fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not JSON (or not UTF-8).
    Syntax(SyntaxError),
    /// Well-formed, but a container sits deeper than the caller's limit.
    TooDeep { path: String, line: usize, limit: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(e) => e.fmt(f),
            Error::TooDeep { path, limit, .. } => write!(f, "{}: nested deeper than {limit} levels", if path.is_empty() { "$" } else { path }),
        }
    }
}

/// What kind of syntax error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The input ended inside a value.
    Eof,
    /// Bytes that are not UTF-8.
    Encoding,
    /// Anything else: an unexpected character, a bad escape or number, trailing text.
    Syntax,
}

/// A syntax error at a 1-based line and column (columns count characters). As in serde_json,
/// the column is the offending character's, or the last character's when the input ended
/// early (0 on an empty line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub problem: Problem,
    pub message: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {} column {}", self.message, self.line, self.column)
    }
}

/// Parses a whole input: UTF-8, one JSON value (RFC 8259: no BOM, no comments, no trailing
/// commas), containers at most `max_depth` levels deep (the root is level 0).
pub fn parse(input: &[u8], max_depth: usize) -> Result<Node, Error> {
    if let Err(e) = std::str::from_utf8(input) {
        return Err(Error::Syntax(position(input, e.valid_up_to(), Problem::Encoding, "invalid UTF-8")));
    }
    Parser { b: input, pos: 0, line: 1 }.document(max_depth).map_err(|e| match e {
        Failure::Syntax(s) => Error::Syntax(s),
        Failure::TooDeep(path, line) => Error::TooDeep { path, line, limit: max_depth },
    })
}

enum Failure {
    Syntax(SyntaxError),
    TooDeep(String, usize),
}

impl From<SyntaxError> for Failure {
    fn from(e: SyntaxError) -> Self {
        Failure::Syntax(e)
    }
}

/// The line and column of byte `at` (`at == input.len()`: the input ended early).
fn position(input: &[u8], at: usize, problem: Problem, message: &'static str) -> SyntaxError {
    let at = at.min(input.len());
    let before = &input[..at];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = 1 + before[..line_start].iter().filter(|&&b| b == b'\n').count();
    // Characters, not bytes: count the bytes that start a UTF-8 sequence.
    let chars = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count();
    let column = if at == input.len() { chars } else { chars + 1 };
    SyntaxError { line, column, problem, message }
}

/// An open container while parsing. `keep` is false past the depth limit: such containers are
/// only checked for syntax, never built.
enum Frame {
    Array { line: usize, items: Vec<Node>, keep: bool },
    Object { line: usize, members: Vec<(String, Node)>, name: String, keep: bool },
}

impl Frame {
    fn add(&mut self, node: Node) {
        match self {
            Frame::Array { items, keep: true, .. } => items.push(node),
            Frame::Object { members, name, keep: true, .. } => members.push((std::mem::take(name), node)),
            _ => {}
        }
    }

    fn close(self) -> Node {
        match self {
            Frame::Array { line, items, .. } => Node { line, value: Value::Array(items) },
            Frame::Object { line, members, .. } => Node { line, value: Value::Object(members) },
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
}

impl Parser<'_> {
    fn error(&self, at: usize, message: &'static str) -> SyntaxError {
        let problem = if at >= self.b.len() { Problem::Eof } else { Problem::Syntax };
        let message = if problem == Problem::Eof { "unexpected end of input" } else { message };
        position(self.b, at, problem, message)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => {}
                b'\n' => self.line += 1,
                _ => break,
            }
            self.pos += 1;
        }
    }

    /// The whole input: one value, then only whitespace.
    fn document(&mut self, max_depth: usize) -> Result<Node, Failure> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut too_deep: Option<(String, usize)> = None;
        loop {
            // A value starts here.
            self.ws();
            let line = self.line;
            let mut node = match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if too_deep.is_none() && stack.len() >= max_depth {
                        too_deep = Some((path_of(&stack), line));
                    }
                    let keep = too_deep.is_none();
                    self.pos += 1;
                    self.ws();
                    if open == b'{' {
                        if self.peek() == Some(b'}') {
                            self.pos += 1;
                            Node { line, value: Value::Object(Vec::new()) }
                        } else {
                            let name = self.name()?;
                            stack.push(Frame::Object { line, members: Vec::new(), name, keep });
                            continue;
                        }
                    } else if self.peek() == Some(b']') {
                        self.pos += 1;
                        Node { line, value: Value::Array(Vec::new()) }
                    } else {
                        stack.push(Frame::Array { line, items: Vec::new(), keep });
                        continue;
                    }
                }
                _ => self.scalar()?,
            };
            // The value is complete: hand it to its container, closing every container that
            // ends here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    self.ws();
                    if self.pos < self.b.len() {
                        return Err(self.error(self.pos, "trailing characters").into());
                    }
                    return match too_deep {
                        Some((path, line)) => Err(Failure::TooDeep(path, line)),
                        None => Ok(node),
                    };
                };
                frame.add(node);
                self.ws();
                let is_object = matches!(frame, Frame::Object { .. });
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if let Frame::Object { name, .. } = frame {
                            self.ws();
                            *name = self.name()?;
                        }
                        break;
                    }
                    Some(b'}') if is_object => {}
                    Some(b']') if !is_object => {}
                    _ if is_object => return Err(self.error(self.pos, "expected ',' or '}'").into()),
                    _ => return Err(self.error(self.pos, "expected ',' or ']'").into()),
                }
                self.pos += 1;
                node = stack.pop().map(Frame::close).unwrap_or(Node { line: self.line, value: Value::Null });
            }
        }
    }

    /// A member name and its colon.
    fn name(&mut self) -> Result<String, SyntaxError> {
        if self.peek() != Some(b'"') {
            return Err(self.error(self.pos, "expected a member name in double quotes"));
        }
        let name = self.string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(self.error(self.pos, "expected ':'"));
        }
        self.pos += 1;
        Ok(name)
    }

    fn scalar(&mut self) -> Result<Node, SyntaxError> {
        let line = self.line;
        let value = match self.peek() {
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.word(b"true", Value::Bool(true))?,
            Some(b'f') => self.word(b"false", Value::Bool(false))?,
            Some(b'n') => self.word(b"null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            _ => return Err(self.error(self.pos, "expected a value")),
        };
        Ok(Node { line, value })
    }

    fn word(&mut self, word: &[u8], value: Value) -> Result<Value, SyntaxError> {
        for &w in word {
            if self.peek() != Some(w) {
                return Err(self.error(self.pos, "expected a value"));
            }
            self.pos += 1;
        }
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as written.
    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.digits() {
            0 => return Err(self.error(self.pos, "invalid number")),
            n if n > 1 && self.b[int_start] == b'0' => return Err(self.error(int_start + 1, "invalid number (leading zero)")),
            _ => {}
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error(self.pos, "invalid number (digits expected after '.')"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error(self.pos, "invalid number (digits expected in the exponent)"));
            }
        }
        // ASCII only, so the slice is whole characters.
        Ok(String::from_utf8_lossy(&self.b[start..self.pos]).into_owned())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|c| (c as char).to_digit(16)).ok_or_else(|| self.error(self.pos, "invalid \\u escape"))?;
            v = v * 16 + digit;
            self.pos += 1;
        }
        Ok(v)
    }

    /// A string at `"`, escapes decoded. The input is UTF-8 (checked first), so the runs
    /// between escapes are whole characters.
    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run = self.pos;
            while self.peek().is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.pos += 1;
            }
            out.push_str(std::str::from_utf8(&self.b[run..self.pos]).unwrap_or_default());
            match self.peek() {
                None => return Err(self.error(self.pos, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = self.peek().ok_or_else(|| self.error(self.pos, "unterminated string"))?;
                    self.pos += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error(self.pos - 1, "invalid escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.error(self.pos, "control character inside a string")),
            }
        }
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` for a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.peek() != Some(b'\\') || self.b.get(self.pos + 1) != Some(&b'u') {
                    return Err(self.error(self.pos, "unpaired surrogate in \\u escape"));
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.error(self.pos - 1, "unpaired surrogate in \\u escape"));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error(self.pos - 1, "unpaired surrogate in \\u escape")),
            _ => hi,
        };
        char::from_u32(code).ok_or_else(|| self.error(self.pos - 1, "invalid \\u escape"))
    }
}

/// The path of the value being parsed: the open containers' current member name or index.
fn path_of(stack: &[Frame]) -> String {
    stack.iter().fold(String::new(), |path, frame| match frame {
        Frame::Array { items, .. } => index(&path, items.len()),
        Frame::Object { name, .. } => child(&path, name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(input: &[u8]) -> SyntaxError {
        match parse(input, 64) {
            Err(Error::Syntax(e)) => e,
            other => panic!("{:?}: expected a syntax error, got {other:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn keeps_lines_order_exact_numbers_and_repeated_names() {
        let n = parse(b"{\n \"b\": [1, 2.50, -0e+1],\n \"a\": \"x\\u00e9\\ud83d\\ude8c\",\n \"b\": null\n}", 64).unwrap();
        let Value::Object(m) = &n.value else { panic!("{n:?}") };
        assert_eq!(m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["b", "a", "b"]);
        assert_eq!((m[1].1.line, &m[1].1.value), (3, &Value::String("xé🚌".into())));
        let Value::Array(a) = &m[0].1.value else { panic!() };
        assert_eq!(a.iter().map(|n| n.value.clone()).collect::<Vec<_>>(), ["1", "2.50", "-0e+1"].map(|t| Value::Number(t.into())));
        assert_eq!(n.line_of("b[1]"), 2);
        assert_eq!(n.line_of("a.missing"), 3);
        assert_eq!(n.first_duplicate(), Some(Duplicate { path: "b".into(), name: "b".into(), line: 4 }));
        assert_eq!(n.get("a").and_then(|v| v.value.as_str()), Some("xé🚌"));
    }

    #[test]
    fn the_first_duplicate_in_input_order_with_its_path() {
        let n = parse(br#"{"apply":{"id":"1","x":[{"a":1,"a":2}],"id":"2"},"apply":0}"#, 64).unwrap();
        let d = n.first_duplicate().unwrap();
        assert_eq!((d.path.as_str(), d.name.as_str()), ("apply.x[0].a", "a"));
        assert_eq!(parse(br#"{"a":[{"b":{}}],"c":{"b":1}}"#, 64).unwrap().first_duplicate(), None);
    }

    #[test]
    fn errors_sit_where_serde_json_puts_them() {
        // (input, line, column, problem, whether serde_json reports the same place)
        for (input, line, column, problem, as_serde) in [
            (&b""[..], 1, 0, Problem::Eof, true),
            (br#"{"apply_type":"1","#, 1, 18, Problem::Eof, true),
            (br#"{"apply_type":"1"} x"#, 1, 20, Problem::Syntax, true),
            (b"\xef\xbb\xbf{}", 1, 1, Problem::Syntax, false),
            (b"{\"a\":\n\"\xc3\x28\"}", 2, 2, Problem::Encoding, false),
            (b"{\n \"a\": 1\n \"b\": 2}", 3, 2, Problem::Syntax, true),
            (b"[1,]", 1, 4, Problem::Syntax, true),
            (b"01", 1, 2, Problem::Syntax, true),
            (br#"{"x":"\ud800"}"#, 1, 13, Problem::Syntax, false),
            // serde_json reports these after the offending character; we point at it.
            (b"\"a\nb\"", 1, 3, Problem::Syntax, false),
            (b"{\"\xc3\xa9\xc3\xa9\": tru}", 1, 11, Problem::Syntax, false),
        ] {
            let e = syntax(input);
            assert_eq!((e.line, e.column, e.problem), (line, column, problem), "{:?}: {e}", String::from_utf8_lossy(input));
            if as_serde {
                let s = serde_json::from_slice::<serde_json::Value>(input).expect_err("serde_json refuses it too");
                assert_eq!((s.line(), s.column()), (line, column), "{:?}: serde_json says {s}", String::from_utf8_lossy(input));
            }
        }
        assert_eq!(syntax(b"{\"a\":").to_string(), "unexpected end of input at line 1 column 5");
    }

    #[test]
    fn depth_is_refused_with_a_path_after_the_syntax_is_checked() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(20), "]".repeat(20));
        match parse(deep.as_bytes(), 16) {
            Err(e @ Error::TooDeep { .. }) => assert_eq!(e.to_string(), format!("x{}: nested deeper than 16 levels", "[0]".repeat(15))),
            other => panic!("{other:?}"),
        }
        assert!(parse(deep.as_bytes(), 21).is_ok());
        // A hundred thousand levels: neither parsing nor dropping recurses.
        let very = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(very.as_bytes(), 16), Err(Error::TooDeep { .. })));
        let unbalanced = format!("{{\"x\":{}", "[".repeat(100_000));
        let e = syntax(unbalanced.as_bytes());
        assert_eq!((e.column, e.problem), (100_005, Problem::Eof));
    }

    /// Our value as serde_json builds it (a repeated name: the last one wins, as in its map).
    fn as_serde(node: &Node) -> serde_json::Value {
        match &node.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Number(t) => serde_json::from_str(t).expect("our number is serde_json's"),
            Value::String(s) => s.as_str().into(),
            Value::Array(items) => items.iter().map(as_serde).collect(),
            Value::Object(members) => members.iter().map(|(k, v)| (k.clone(), as_serde(v))).collect::<serde_json::Map<_, _>>().into(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]

        /// Differential: on token soup that is often JSON and often nearly JSON, we accept
        /// exactly what serde_json accepts (except numbers past f64), read the same values,
        /// and place an early end of input where it does.
        #[test]
        fn accepts_what_serde_json_accepts(tokens in proptest::collection::vec(proptest::sample::select(vec![
            "{", "}", "[", "]", ",", ":", " ", "\n", "\"a\"", "\"b\"", "\"\\u00e9\"", "\"\\ud83d\\ude8c\"", "\"\\ud800\"",
            "\"x\ny\"", "\"\\q\"", "\"é\"", "0", "1", "-0.5e3", "01", "1.", "2E+1", "-", "true", "nul", "null", "\"",
        ]), 0..24)) {
            let input = tokens.concat();
            let ours = parse(input.as_bytes(), 128);
            let theirs = serde_json::from_str::<serde_json::Value>(&input);
            match (&ours, &theirs) {
                (Ok(node), Ok(value)) => proptest::prop_assert_eq!(&as_serde(node), value, "{:?}", input),
                // A number past f64 (`2E+1001`): serde_json refuses it, we keep its text (each
                // reader bounds its numbers).
                (Ok(_), Err(s)) if s.to_string().starts_with("number out of range") => {}
                (Err(Error::Syntax(e)), Err(s)) => {
                    // Columns: ours count characters, serde_json's bytes; they agree on ASCII.
                    if s.classify() == serde_json::error::Category::Eof && input.is_ascii() {
                        proptest::prop_assert_eq!((e.problem, e.line, e.column), (Problem::Eof, s.line(), s.column()), "{:?}", input);
                    }
                }
                _ => proptest::prop_assert!(false, "{:?}: ours {:?}, serde_json {:?}", input, ours, theirs),
            }
        }
    }
}
