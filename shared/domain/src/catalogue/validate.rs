//! Reading and checking a catalogue file: every problem of the file is reported, each with
//! its line and JSON path, before anything is applied (see [`super::file`] for the format).
//!
//! Here: the file's top level and the [`Reader`] that collects problems. By concern:
//! [`fields`] (one field's type, range and format), [`lines`] (cities, lines, refund tiers),
//! [`stations`] (stations, geofences, segment prices, transfer points) and [`departures`]
//! (timetables and single departures).

use std::collections::HashMap;

use busgate_json::{Node, Value};

use super::file::{CatalogueFile, ImportProblem, LineEntry};
use super::model::{Line, RefundTier, TimeType};

mod departures;
mod fields;
mod lines;
mod stations;

/// Longest name (§2.5).
const MAX_NAME: usize = 64;
/// Deepest nesting of the file (it needs 5 levels; room for comments and extensions).
const MAX_DEPTH: usize = 64;
/// Longest other string (§2.5).
const MAX_TEXT: usize = 256;
/// Most money in fen (§2.5).
const MAX_FEN: u64 = 1_000_000_000;
/// Most seats of a departure.
const MAX_SEATS: u64 = 10_000;
/// Longest presale period, days.
const MAX_PRESELL_DAYS: u64 = 365;
/// Longest sale close before D, minutes (a week).
const MAX_PRESELL_MINUTES: u64 = 7 * 24 * 60;
/// Longest timetable range, days.
const MAX_TIMETABLE_DAYS: i64 = 366;

/// Whether `s` is a Busgate id: `[A-Za-z0-9_-]{1,64}` (§2.5).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `s` is a 6-digit administrative city code.
pub fn is_city_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses and checks a catalogue file (JSON, see [`super::file`]). Every problem of the file
/// is reported, each with its line and JSON path; nothing is returned unless the file is
/// entirely valid.
pub fn parse_import(text: &str) -> Result<CatalogueFile, Vec<ImportProblem>> {
    // A byte-order mark is what some editors save; it is not JSON, and harmless here.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = match busgate_json::parse(text.as_bytes(), MAX_DEPTH) {
        Ok(root) => root,
        Err(busgate_json::Error::Syntax(e)) => {
            return Err(vec![ImportProblem { line: Some(e.line), path: "(file)".into(), message: format!("column {}: {}", e.column, e.message) }]);
        }
        Err(busgate_json::Error::TooDeep { path, line, limit }) => {
            return Err(vec![ImportProblem { line: Some(line), path, message: format!("nested deeper than {limit} levels") }]);
        }
    };
    let mut r = Reader::default();
    let file = r.file(&root);
    // Expansion problems (a departure declared twice, …) are looked for on whatever could be
    // read, even when other parts failed: parts that failed stand in as placeholders.
    if let Err(more) = file.planned_departures() {
        r.problems.extend(more);
    }
    if r.problems.is_empty() {
        return Ok(file);
    }
    let mut problems = Vec::new();
    for mut p in r.problems {
        if p.line.is_none() {
            p.line = Some(root.line_of(&p.path));
        }
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    problems.sort_by_key(|p| p.line);
    Err(problems)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// An object's members, read once each.
struct Obj<'a> {
    members: &'a [(String, Node)],
    path: String,
}

impl<'a> Obj<'a> {
    /// The member `key`; JSON null counts as absent.
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| v.value != Value::Null)
    }
    fn path(&self, key: &str) -> String {
        child(&self.path, key)
    }
}

#[derive(Default)]
struct Reader {
    problems: Vec<ImportProblem>,
}

impl Reader {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ImportProblem::new(path, message));
    }

    // --- the file ------------------------------------------------------------------------

    fn file(&mut self, root: &Node) -> CatalogueFile {
        let mut file = CatalogueFile { cities: Vec::new(), lines: Vec::new() };
        let Some(o) = self.object(root, "", &["cities", "refundRuleSets", "lines", "operator"]) else {
            return file;
        };
        let _ = self.string(&o, "operator", false, MAX_TEXT);
        if let Some(items) = self.array(&o, "cities", true) {
            file.cities = self.cities(items);
        }
        let mut sets: HashMap<String, Vec<RefundTier>> = HashMap::new();
        if let Some(n) = o.get("refundRuleSets") {
            if let Some(so) = self.object(n, "refundRuleSets", &[]) {
                // Every key is a set name; `object` reported them as unknown: undo that.
                let path_prefix = "refundRuleSets.";
                self.problems.retain(|p| !(p.path.starts_with(path_prefix) && p.message.starts_with("unknown field")));
                for (name, tiers) in so.members {
                    let path = child("refundRuleSets", name);
                    if let Some(list) = self.tiers(tiers, &path) {
                        sets.insert(name.clone(), list);
                    }
                }
            }
        }
        if let Some(items) = self.array(&o, "lines", true) {
            if items.is_empty() {
                self.problem("lines", "at least one line is required");
            }
            let mut ids: HashMap<String, usize> = HashMap::new();
            for (i, n) in items.iter().enumerate() {
                let path = format!("lines[{i}]");
                if let Some(entry) = self.line(n, &path, &file.cities, &sets) {
                    if let Some(prev) = ids.insert(entry.line.id.clone(), i) {
                        self.problem(child(&path, "id"), format!("line id {} is already used by lines[{prev}]", entry.line.id));
                    }
                    file.lines.push(entry);
                } else {
                    // Keep the indexes of later lines aligned with the file for expansion paths.
                    file.lines.push(placeholder_line(i));
                }
            }
        }
        file
    }
}

/// A line that failed to parse, kept so that later lines keep their index.
fn placeholder_line(i: usize) -> LineEntry {
    LineEntry {
        line: Line {
            id: format!("\u{0}{i}"),
            name: String::new(),
            desc: None,
            enabled: false,
            from_time_type: TimeType::Fixed,
            pre_sell_day: 0,
            presell_time: 0,
            stations: Vec::new(),
            segment_prices: Vec::new(),
            transfer_points: Vec::new(),
            is_order_refund: false,
            refund_rules: Vec::new(),
            back_days: None,
            certificate_types: Vec::new(),
            fetch_ticket_spot: None,
            ticket_wicket: None,
            driver_contact_phone: None,
        },
        seats: 1,
        timetable: Vec::new(),
        departures: Vec::new(),
    }
}
