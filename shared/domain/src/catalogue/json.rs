//! A small JSON reader that keeps the line of every value and every key of an object (so
//! duplicate keys can be reported), for the catalogue file's error messages. Numbers keep
//! their text, so decimals are never rounded.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// The number exactly as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in file order, duplicates kept.
    Object(Vec<(String, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// 1-based line where the value starts.
    pub line: usize,
    pub value: Value,
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A syntax error: line, column (1-based, in characters) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

const MAX_DEPTH: usize = 64;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    line_start: usize,
}

pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { chars: text.chars().collect(), pos: 0, line: 1, line_start: 0 };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("unexpected text after the JSON value"));
    }
    Ok(node)
}

impl Parser {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError { line: self.line, column: self.pos - self.line_start + 1, message: message.to_string() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn expect_word(&mut self, word: &str, value: Value) -> Result<Node, SyntaxError> {
        let line = self.line;
        for w in word.chars() {
            if self.peek() != Some(w) {
                return Err(self.error("invalid literal (expected true, false, null, a number, a string, [ or {)"));
            }
            self.bump();
        }
        Ok(Node { line, value })
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let line = self.line;
        match self.peek() {
            None => Err(self.error("unexpected end of file")),
            Some('{') => {
                self.bump();
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.bump();
                    return Ok(Node { line, value: Value::Object(members) });
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some('"') {
                        return Err(self.error("expected a \"key\""));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.bump() != Some(':') {
                        return Err(self.error("expected ':' after the key"));
                    }
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.skip_ws();
                    match self.bump() {
                        Some(',') => continue,
                        Some('}') => return Ok(Node { line, value: Value::Object(members) }),
                        _ => return Err(self.error("expected ',' or '}' (a comma missing, or one too many?)")),
                    }
                }
            }
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.bump();
                    return Ok(Node { line, value: Value::Array(items) });
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.bump() {
                        Some(',') => continue,
                        Some(']') => return Ok(Node { line, value: Value::Array(items) }),
                        _ => return Err(self.error("expected ',' or ']' (a comma missing, or one too many?)")),
                    }
                }
            }
            Some('"') => Ok(Node { line, value: Value::String(self.string()?) }),
            Some('t') => self.expect_word("true", Value::Bool(true)),
            Some('f') => self.expect_word("false", Value::Bool(false)),
            Some('n') => self.expect_word("null", Value::Null),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.error("unexpected character (expected a value)")),
        }
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let line = self.line;
        let start = self.pos;
        if self.peek() == Some('-') {
            self.bump();
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.bump();
            }
            p.pos - s
        };
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 {
            return Err(self.error("invalid number"));
        }
        if n > 1 && self.chars[int_start] == '0' {
            return Err(self.error("invalid number (leading zero)"));
        }
        if self.peek() == Some('.') {
            self.bump();
            if digits(self) == 0 {
                return Err(self.error("invalid number (digits expected after '.')"));
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number (digits expected in the exponent)"));
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        Ok(Node { line, value: Value::Number(text) })
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0;
        for _ in 0..4 {
            let c = self.bump().ok_or_else(|| self.error("unexpected end of file in \\u escape"))?;
            v = v * 16 + c.to_digit(16).ok_or_else(|| self.error("invalid \\u escape"))?;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let c = self.bump().ok_or_else(|| self.error("unterminated string"))?;
            match c {
                '"' => return Ok(out),
                '\n' => return Err(self.error("unterminated string (line break inside a string)")),
                c if (c as u32) < 0x20 => return Err(self.error("control character inside a string")),
                '\\' => {
                    let e = self.bump().ok_or_else(|| self.error("unterminated string"))?;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bump() != Some('\\') || self.bump() != Some('u') {
                                    return Err(self.error("unpaired surrogate in \\u escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))?);
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

/// The line of the value at `path` (`a.b[2].c`), or of its deepest existing ancestor.
pub(crate) fn line_of(root: &Node, path: &str) -> usize {
    let mut node = root;
    for seg in path_segments(path) {
        let next = match (&node.value, seg) {
            (Value::Object(members), Seg::Key(k)) => members.iter().find(|(mk, _)| mk == k).map(|(_, v)| v),
            (Value::Array(items), Seg::Index(i)) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node.line
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_lines_and_duplicates() {
        let n = parse("{\n \"a\": [1, 2.50],\n \"a\": \"x\\u00e9\"\n}").unwrap();
        let Value::Object(m) = &n.value else { panic!() };
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].1.line, 3);
        assert_eq!(m[1].1.value, Value::String("xé".into()));
        let Value::Array(a) = &m[0].1.value else { panic!() };
        assert_eq!(a[1].value, Value::Number("2.50".into()));
        assert_eq!(line_of(&n, "a[1]"), 2);
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let e = parse("{\n \"a\": 1\n \"b\": 2}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(parse("[1,]").is_err());
        assert!(parse("01").is_err());
    }
}
