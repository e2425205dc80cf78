//! Exact decimal reading of a JSON number's text: no `f64` in between.

/// A JSON number split exactly: `value = (-1)^negative × digits × 10^exponent`, `digits`
/// without leading or trailing zeros (empty for zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactNumber {
    pub negative: bool,
    pub digits: String,
    pub exponent: i64,
}

/// Splits a number written in JSON grammar (`-?int(.frac)?([eE][+-]?exp)?`). `None` if the text
/// is not such a number or its exponent is absurd (more than 9 digits).
pub fn exact_number(text: &str) -> Option<ExactNumber> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_exactly() {
        let n = exact_number("-12.5000e3").unwrap();
        assert_eq!((n.negative, n.digits.as_str(), n.exponent), (true, "125", 2));
        assert_eq!(exact_number("0.00").unwrap(), ExactNumber { negative: false, digits: String::new(), exponent: 0 });
        for bad in ["", "-", "1.", ".5", "1e", "1e1234567890", "0x10", "1,5"] {
            assert_eq!(exact_number(bad), None, "{bad}");
        }
    }
}
