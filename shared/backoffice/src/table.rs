//! Plain text tables for the terminal (CJK characters take two columns).

/// Columns a character takes in a terminal.
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide {
        2
    } else if c.is_control() {
        0
    } else {
        1
    }
}

/// Columns a string takes in a terminal.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` on one line, cut to at most `max` columns (with `…`).
pub fn cut(s: &str, max: usize) -> String {
    let one_line: String = s.chars().map(|c| if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c }).collect();
    if width(&one_line) <= max {
        return one_line;
    }
    let mut out = String::new();
    let mut w = 0;
    for c in one_line.chars() {
        let cw = char_width(c);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// A table: a header line, then one line per row; columns separated by two spaces.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).take(n).collect()));
    }
    out
}

/// `-` for a missing value.
pub fn or_dash(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_wide_characters() {
        let t = render(&["A", "B"], &[vec!["上海".into(), "x".into()], vec!["ab".into(), "y".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "上海  x");
        assert_eq!(lines[2], "ab    y");
    }

    #[test]
    fn cuts_long_cells() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("上海市区", 5), "上海…");
        assert_eq!(cut("a\nb", 10), "a b");
    }
}
