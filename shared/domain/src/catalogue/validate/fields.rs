//! One field of the file: its JSON type, range and format, each problem with its path.

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{child, Obj, Reader};
use crate::catalogue::file::ImportProblem;
use crate::catalogue::geo;
use crate::catalogue::model::{DepartureTime, TimeType};
use crate::catalogue::validate::{is_city_code, is_valid_id};
use busgate_json::{Node, Value};

impl Reader {
    /// An object with only `allowed` keys (plus `comment`), without duplicate keys.
    pub(super) fn object<'a>(&mut self, node: &'a Node, path: &str, allowed: &[&str]) -> Option<Obj<'a>> {
        let Value::Object(members) = &node.value else {
            self.problem(path, format!("must be an object, not {}", node.value.a_kind()));
            return None;
        };
        let mut seen = HashSet::new();
        for (k, v) in members {
            if !seen.insert(k.as_str()) {
                self.problems.push(ImportProblem { line: Some(v.line), path: child(path, k), message: "duplicate key".into() });
            } else if k != "comment" && !allowed.contains(&k.as_str()) {
                self.problems.push(ImportProblem {
                    line: Some(v.line),
                    path: child(path, k),
                    message: format!("unknown field (expected one of: {})", allowed.join(", ")),
                });
            }
        }
        Some(Obj { members, path: path.to_string() })
    }

    pub(super) fn array<'a>(&mut self, o: &Obj<'a>, key: &str, required: bool) -> Option<&'a [Node]> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(Node { value: Value::Array(items), .. }) => Some(items),
            Some(n) => {
                self.problem(o.path(key), format!("must be an array, not {}", n.value.a_kind()));
                None
            }
        }
    }

    /// A trimmed string; empty or blank counts as absent.
    pub(super) fn string(&mut self, o: &Obj, key: &str, required: bool, max: usize) -> Option<String> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(Node { value: Value::String(s), .. }) => {
                let s = s.trim();
                if s.is_empty() {
                    if required {
                        self.problem(o.path(key), "must not be empty");
                    }
                    None
                } else if s.chars().count() > max {
                    self.problem(o.path(key), format!("at most {max} characters"));
                    None
                } else {
                    Some(s.to_string())
                }
            }
            Some(n) => {
                self.problem(o.path(key), format!("must be a string, not {}", n.value.a_kind()));
                None
            }
        }
    }

    pub(super) fn id(&mut self, o: &Obj, key: &str, required: bool) -> Option<String> {
        let s = self.string(o, key, required, usize::MAX)?;
        if is_valid_id(&s) {
            Some(s)
        } else {
            self.problem(o.path(key), format!("{s:?} is not an id: 1–64 characters of A-Z a-z 0-9 _ -"));
            None
        }
    }

    pub(super) fn city_code(&mut self, o: &Obj, key: &str) -> Option<String> {
        let s = self.string(o, key, true, usize::MAX)?;
        if is_city_code(&s) {
            Some(s)
        } else {
            self.problem(o.path(key), format!("{s:?} is not a 6-digit administrative code"));
            None
        }
    }

    /// A JSON integer (no fraction, no exponent) in `min..=max`.
    pub(super) fn uint_node(&mut self, n: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
        let Value::Number(text) = &n.value else {
            self.problem(path, format!("must be a whole number, not {}", n.value.a_kind()));
            return None;
        };
        match text.parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) => {
                self.problem(path, format!("must be between {min} and {max}"));
                None
            }
            Err(_) if text.starts_with('-') && !text.contains(['.', 'e', 'E']) => {
                self.problem(path, format!("must be between {min} and {max}"));
                None
            }
            Err(_) => {
                self.problem(path, format!("must be a whole number (no fraction or exponent), not {text}"));
                None
            }
        }
    }

    pub(super) fn uint(&mut self, o: &Obj, key: &str, required: bool, min: u64, max: u64) -> Option<u64> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(n) => self.uint_node(n, &o.path(key), min, max),
        }
    }

    pub(super) fn boolean(&mut self, o: &Obj, key: &str, required: bool) -> Option<bool> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(Node { value: Value::Bool(b), .. }) => Some(*b),
            Some(n) => {
                self.problem(o.path(key), format!("must be true or false, not {}", n.value.a_kind()));
                None
            }
        }
    }

    /// A coordinate: a string (or a number, kept as written) with at most 6 decimals.
    pub(super) fn coordinate(&mut self, o: &Obj, key: &str, required: bool, latitude: bool) -> Option<Decimal> {
        let path = o.path(key);
        let text = match o.get(key) {
            None => {
                if required {
                    self.problem(&path, "required");
                }
                return None;
            }
            Some(Node { value: Value::String(s), .. }) | Some(Node { value: Value::Number(s), .. }) => s.trim().to_string(),
            Some(n) => {
                self.problem(&path, format!("must be a decimal string such as \"121.475190\", not {}", n.value.a_kind()));
                return None;
            }
        };
        let Some(v) = geo::parse_coordinate(&text) else {
            self.problem(&path, format!("{text:?} is not a decimal number of degrees"));
            return None;
        };
        if v.scale() > geo::MAX_CATALOGUE_DECIMALS {
            self.problem(&path, format!("{text} has more than {} decimals", geo::MAX_CATALOGUE_DECIMALS));
            return None;
        }
        let ok = if latitude { geo::valid_latitude(v) } else { geo::valid_longitude(v) };
        if !ok {
            self.problem(&path, format!("{text} is out of range ({})", if latitude { "-90 to 90" } else { "-180 to 180" }));
            return None;
        }
        Some(v)
    }

    pub(super) fn date(&mut self, o: &Obj, key: &str, required: bool) -> Option<NaiveDate> {
        let s = self.string(o, key, required, usize::MAX)?;
        // Exactly yyyy-MM-dd: chrono alone also takes a sign (`+026-11-26`) or one-digit parts.
        let ok = s.len() == 10 && s.bytes().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == b'-' } else { c.is_ascii_digit() });
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if ok => Some(d),
            _ => {
                self.problem(o.path(key), format!("{s:?} is not a date yyyy-MM-dd"));
                None
            }
        }
    }

    pub(super) fn departure_time_node(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> Option<DepartureTime> {
        let Value::String(s) = &n.value else {
            self.problem(path, format!("must be a string \"HH:mm\" or \"HH:mm-HH:mm\", not {}", n.value.a_kind()));
            return None;
        };
        let s = s.trim();
        let Some(t) = DepartureTime::parse(s) else {
            let message = if s.contains('-') {
                format!("{s:?} is not a window \"HH:mm-HH:mm\" with begin before end")
            } else {
                format!("{s:?} is not a time \"HH:mm\"")
            };
            self.problem(path, message);
            return None;
        };
        match (time_type, t) {
            (Some(TimeType::Fixed), DepartureTime::Window { .. }) => {
                self.problem(path, format!("{s:?} is a window, but the line has fromTimeType 1: give a time \"HH:mm\""));
                None
            }
            (Some(TimeType::Rolling), DepartureTime::Fixed(_)) => {
                self.problem(path, format!("{s:?} is a time, but the line has fromTimeType 4 (流水班): give a window \"HH:mm-HH:mm\""));
                None
            }
            _ => Some(t),
        }
    }
}
