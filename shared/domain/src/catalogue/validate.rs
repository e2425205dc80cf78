//! Reading and checking a catalogue file: every problem of the file is reported, each with
//! its line and JSON path, before anything is applied (see [`super::file`] for the format).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::file::{CatalogueFile, DepartureEntry, ImportProblem, LineEntry, TimetableEntry, MAX_GENERATING_LINE_ID};
use super::geo;
use super::json::{self, Node, Value};
use super::model::{City, DepartureTime, GeoPoint, Line, RefundTier, SegmentPrice, Station, StationType, TimeType, TransferPoint};
use super::queries::city_matches;
use super::refund::tier_problems;

/// Longest name (§2.5).
const MAX_NAME: usize = 64;
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
    let root = match json::parse(text) {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![ImportProblem { line: Some(e.line), path: "(file)".into(), message: format!("column {}: {}", e.column, e.message) }]);
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
            p.line = Some(json::line_of(&root, &p.path));
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

    /// An object with only `allowed` keys (plus `comment`), without duplicate keys.
    fn object<'a>(&mut self, node: &'a Node, path: &str, allowed: &[&str]) -> Option<Obj<'a>> {
        let Value::Object(members) = &node.value else {
            self.problem(path, format!("must be an object, not {}", node.kind()));
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

    fn array<'a>(&mut self, o: &Obj<'a>, key: &str, required: bool) -> Option<&'a [Node]> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(Node { value: Value::Array(items), .. }) => Some(items),
            Some(n) => {
                self.problem(o.path(key), format!("must be an array, not {}", n.kind()));
                None
            }
        }
    }

    /// A trimmed string; empty or blank counts as absent.
    fn string(&mut self, o: &Obj, key: &str, required: bool, max: usize) -> Option<String> {
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
                self.problem(o.path(key), format!("must be a string, not {}", n.kind()));
                None
            }
        }
    }

    fn id(&mut self, o: &Obj, key: &str, required: bool) -> Option<String> {
        let s = self.string(o, key, required, usize::MAX)?;
        if is_valid_id(&s) {
            Some(s)
        } else {
            self.problem(o.path(key), format!("{s:?} is not an id: 1–64 characters of A-Z a-z 0-9 _ -"));
            None
        }
    }

    fn city_code(&mut self, o: &Obj, key: &str) -> Option<String> {
        let s = self.string(o, key, true, usize::MAX)?;
        if is_city_code(&s) {
            Some(s)
        } else {
            self.problem(o.path(key), format!("{s:?} is not a 6-digit administrative code"));
            None
        }
    }

    /// A JSON integer (no fraction, no exponent) in `min..=max`.
    fn uint_node(&mut self, n: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
        let Value::Number(text) = &n.value else {
            self.problem(path, format!("must be a whole number, not {}", n.kind()));
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

    fn uint(&mut self, o: &Obj, key: &str, required: bool, min: u64, max: u64) -> Option<u64> {
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

    fn boolean(&mut self, o: &Obj, key: &str, required: bool) -> Option<bool> {
        match o.get(key) {
            None => {
                if required {
                    self.problem(o.path(key), "required");
                }
                None
            }
            Some(Node { value: Value::Bool(b), .. }) => Some(*b),
            Some(n) => {
                self.problem(o.path(key), format!("must be true or false, not {}", n.kind()));
                None
            }
        }
    }

    /// A coordinate: a string (or a number, kept as written) with at most 6 decimals.
    fn coordinate(&mut self, o: &Obj, key: &str, required: bool, latitude: bool) -> Option<Decimal> {
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
                self.problem(&path, format!("must be a decimal string such as \"121.475190\", not {}", n.kind()));
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

    fn date(&mut self, o: &Obj, key: &str, required: bool) -> Option<NaiveDate> {
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

    fn departure_time_node(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> Option<DepartureTime> {
        let Value::String(s) = &n.value else {
            self.problem(path, format!("must be a string \"HH:mm\" or \"HH:mm-HH:mm\", not {}", n.kind()));
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

    fn cities(&mut self, items: &[Node]) -> Vec<City> {
        let mut out: Vec<City> = Vec::new();
        if items.is_empty() {
            self.problem("cities", "at least one city is required");
        }
        for (i, n) in items.iter().enumerate() {
            let path = format!("cities[{i}]");
            let Some(o) = self.object(n, &path, &["code", "name", "province"]) else { continue };
            let code = self.city_code(&o, "code");
            let name = self.string(&o, "name", true, MAX_NAME);
            let province = self.string(&o, "province", true, MAX_NAME);
            let (Some(code), Some(name), Some(province)) = (code, name, province) else { continue };
            if let Some(j) = out.iter().position(|c| c.code == code) {
                self.problem(child(&path, "code"), format!("city {code} is already declared by cities[{j}]"));
                continue;
            }
            if let Some(j) = out.iter().position(|c| c.name == name || city_matches(&c.name, &name) || city_matches(&name, &c.name)) {
                self.problem(child(&path, "name"), format!("{name} cannot be told apart from {} (cities[{j}]) by the city match", out[j].name));
                continue;
            }
            out.push(City { code, name, province });
        }
        out
    }

    fn tiers(&mut self, node: &Node, path: &str) -> Option<Vec<RefundTier>> {
        let Value::Array(items) = &node.value else {
            self.problem(path, format!("must be an array of tiers, not {}", node.kind()));
            return None;
        };
        let before = self.problems.len();
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["minHours", "maxHours", "refundable", "feePercent"]) else { continue };
            let min = self.uint(&o, "minHours", true, 0, 100_000);
            let max = self.uint(&o, "maxHours", false, 0, 100_000);
            let refundable = self.boolean(&o, "refundable", true);
            let fee = self.uint(&o, "feePercent", false, 0, 100);
            if let (Some(min), Some(refundable)) = (min, refundable) {
                out.push((i, RefundTier { min_hours: min as u32, max_hours: max.map(|m| m as u32), refundable, fee_percent: fee.map(|f| f as u32) }));
            }
        }
        if self.problems.len() > before {
            return None;
        }
        let tiers: Vec<RefundTier> = out.into_iter().map(|(_, t)| t).collect();
        for (i, message) in tier_problems(&tiers) {
            match i {
                Some(i) => self.problem(format!("{path}[{i}]"), message),
                None => self.problem(path, message),
            }
        }
        (self.problems.len() == before).then_some(tiers)
    }

    fn line(&mut self, n: &Node, path: &str, cities: &[City], sets: &HashMap<String, Vec<RefundTier>>) -> Option<LineEntry> {
        const KEYS: &[&str] = &[
            "id",
            "name",
            "desc",
            "enabled",
            "fromTimeType",
            "preSellDay",
            "presellTime",
            "seats",
            "stations",
            "segmentPrices",
            "transferPoints",
            "isOrderRefund",
            "refundRules",
            "backDays",
            "certificateTypes",
            "fetchTicketSpot",
            "ticketWicket",
            "driverContactPhone",
            "timetable",
            "departures",
        ];
        let o = self.object(n, path, KEYS)?;
        let id = self.id(&o, "id", true);
        let name = self.string(&o, "name", true, MAX_NAME);
        let desc = self.string(&o, "desc", false, MAX_TEXT);
        let enabled = self.boolean(&o, "enabled", false).unwrap_or(true);
        let time_type = match self.uint(&o, "fromTimeType", true, 0, 255) {
            Some(code) => {
                let t = TimeType::from_code(code as u8);
                if t.is_none() {
                    self.problem(o.path("fromTimeType"), format!("must be 1 (fixed time) or 4 (流水班), not {code}"));
                }
                t
            }
            None => None,
        };
        let pre_sell_day = self.uint(&o, "preSellDay", true, 0, MAX_PRESELL_DAYS);
        let presell_time = self.uint(&o, "presellTime", true, 0, MAX_PRESELL_MINUTES);
        let seats = self.uint(&o, "seats", true, 1, MAX_SEATS);
        let is_order_refund = self.boolean(&o, "isOrderRefund", false).unwrap_or(false);
        let back_days = self.uint(&o, "backDays", false, 0, 2).map(|b| b as u8);
        let fetch_ticket_spot = self.string(&o, "fetchTicketSpot", false, MAX_TEXT);
        let ticket_wicket = self.string(&o, "ticketWicket", false, MAX_TEXT);
        let driver_contact_phone = self.string(&o, "driverContactPhone", false, 32);

        let refund_rules = match o.get("refundRules") {
            None => {
                self.problem(o.path("refundRules"), "required (a tier list, or the name of a set in refundRuleSets)");
                None
            }
            Some(Node { value: Value::String(set), .. }) => match sets.get(set.trim()) {
                Some(t) => Some(t.clone()),
                None => {
                    self.problem(o.path("refundRules"), format!("no refund rule set named {set:?} in refundRuleSets"));
                    None
                }
            },
            Some(n) => self.tiers(n, &o.path("refundRules")),
        };

        let certificate_types = match self.array(&o, "certificateTypes", false) {
            None => Some(vec!["1".to_string()]),
            Some(items) => {
                let mut out: Vec<String> = Vec::new();
                let mut ok = true;
                if items.is_empty() {
                    self.problem(o.path("certificateTypes"), "at least one type is required (or leave the field out for [\"1\"])");
                    ok = false;
                }
                for (i, n) in items.iter().enumerate() {
                    let code = match &n.value {
                        Value::String(s) => s.trim().to_string(),
                        Value::Number(s) => s.clone(),
                        _ => String::new(),
                    };
                    if !["1", "2", "3", "4"].contains(&code.as_str()) {
                        self.problem(
                            format!("{}[{i}]", o.path("certificateTypes")),
                            "must be \"1\" (ID card), \"2\" (passport), \"3\" (HK/Macau pass) or \"4\" (Taiwan pass)",
                        );
                        ok = false;
                    } else if out.contains(&code) {
                        self.problem(format!("{}[{i}]", o.path("certificateTypes")), format!("{code} is listed twice"));
                        ok = false;
                    } else {
                        out.push(code);
                    }
                }
                ok.then_some(out)
            }
        };

        let stations = match self.array(&o, "stations", true) {
            Some(items) => self.stations(items, &o.path("stations"), cities),
            None => None,
        };
        let segment_prices = match (self.array(&o, "segmentPrices", true), &stations) {
            (Some(items), Some(st)) => self.segment_prices(items, &o.path("segmentPrices"), st),
            _ => None,
        };
        let transfer_points = match self.array(&o, "transferPoints", false) {
            Some(items) => self.transfer_points(items, &o.path("transferPoints")),
            None => Some(Vec::new()),
        };

        let generates = o.get("timetable").is_some()
            || matches!(o.get("departures"), Some(Node { value: Value::Array(d), .. })
                if d.iter().any(|n| matches!(&n.value, Value::Object(m) if !m.iter().any(|(k, v)| k == "scheduleId" && v.value != Value::Null))));
        if let Some(id) = &id {
            if generates && id.len() > MAX_GENERATING_LINE_ID {
                self.problem(
                    o.path("id"),
                    format!("at most {MAX_GENERATING_LINE_ID} characters on a line whose scheduleIds are generated (<lineId>-<yyyyMMdd>-<HHmm>)"),
                );
            }
        }

        let timetable = match self.array(&o, "timetable", false) {
            Some(items) => items.iter().enumerate().map(|(i, n)| self.timetable(n, &format!("{}[{i}]", o.path("timetable")), time_type)).collect(),
            None => Vec::new(),
        };
        let departures = match self.array(&o, "departures", false) {
            Some(items) => items.iter().enumerate().map(|(i, n)| self.departure(n, &format!("{}[{i}]", o.path("departures")), time_type)).collect(),
            None => Vec::new(),
        };

        let line = Line {
            id: id?,
            name: name.unwrap_or_default(),
            desc,
            enabled,
            from_time_type: time_type?,
            pre_sell_day: pre_sell_day.unwrap_or(0) as u32,
            presell_time: presell_time.unwrap_or(0) as u32,
            stations: stations.unwrap_or_default(),
            segment_prices: segment_prices.unwrap_or_default(),
            transfer_points: transfer_points.unwrap_or_default(),
            is_order_refund,
            refund_rules: refund_rules.unwrap_or_default(),
            back_days,
            certificate_types: certificate_types.unwrap_or_default(),
            fetch_ticket_spot,
            ticket_wicket,
            driver_contact_phone,
        };
        Some(LineEntry { line, seats: seats.unwrap_or(1) as u32, timetable, departures })
    }

    fn stations(&mut self, items: &[Node], path: &str, cities: &[City]) -> Option<Vec<Station>> {
        const KEYS: &[&str] = &[
            "seq",
            "stationCode",
            "stationName",
            "cityCode",
            "cityName",
            "stationAddress",
            "stationType",
            "longitude",
            "latitude",
            "geofence",
            "stationFeature",
            "boarding",
            "alighting",
            "offsetMinutes",
        ];
        let before = self.problems.len();
        if items.len() < 2 {
            self.problem(path, "a line needs at least 2 stations");
        }
        let mut out: Vec<Station> = Vec::new();
        let mut last_offset: Option<(usize, u32)> = None;
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, KEYS) else { continue };
            if let Some(seq) = self.uint(&o, "seq", false, 0, 100_000) {
                if seq != i as u64 + 1 {
                    self.problem(o.path("seq"), format!("must be {} (stations are listed in order)", i + 1));
                }
            }
            let code = self.id(&o, "stationCode", true);
            if let Some(c) = &code {
                if let Some(j) = out.iter().position(|s| &s.station_code == c) {
                    self.problem(o.path("stationCode"), format!("{c} is already used by {path}[{j}]"));
                }
            }
            let name = self.string(&o, "stationName", true, MAX_NAME);
            let city_code = self.city_code(&o, "cityCode");
            let unknown_city;
            let city = match city_code.as_ref() {
                None => None,
                Some(c) => match cities.iter().find(|x| &x.code == c) {
                    Some(found) => Some(found),
                    None => {
                        if !cities.is_empty() {
                            self.problem(o.path("cityCode"), format!("city {c} is not declared in cities"));
                        }
                        // Without a city list (already reported) keep checking the rest.
                        unknown_city = City { code: c.clone(), name: c.clone(), province: String::new() };
                        Some(&unknown_city)
                    }
                },
            };
            if let (Some(city), Some(given)) = (city, self.string(&o, "cityName", false, MAX_NAME)) {
                if given != city.name {
                    self.problem(o.path("cityName"), format!("{given} is not the name of city {} ({})", city.code, city.name));
                }
            }
            let address = self.string(&o, "stationAddress", false, MAX_TEXT);
            let feature = self.string(&o, "stationFeature", false, MAX_NAME);
            let boarding = self.boolean(&o, "boarding", true);
            let alighting = self.boolean(&o, "alighting", true);
            let offset = self.uint(&o, "offsetMinutes", true, 0, MAX_PRESELL_MINUTES).map(|v| v as u32);
            if let Some(off) = offset {
                if i == 0 && off != 0 {
                    self.problem(o.path("offsetMinutes"), "must be 0 at the first station (D is the departure from it)");
                }
                if let Some((j, prev)) = last_offset {
                    if off < prev {
                        self.problem(o.path("offsetMinutes"), format!("{off} is earlier than {prev} at {path}[{j}]"));
                    }
                }
                last_offset = Some((i, off));
            }
            let kind = match self.uint(&o, "stationType", true, 0, 255) {
                Some(c) => {
                    let k = StationType::from_code(c as u8);
                    if k.is_none() {
                        self.problem(o.path("stationType"), format!("must be 1 (fixed point) or 2 (area with a geofence), not {c}"));
                    }
                    k
                }
                None => None,
            };
            let (mut longitude, mut latitude, mut geofence) = (None, None, Vec::new());
            match kind {
                Some(StationType::Point) => {
                    longitude = self.coordinate(&o, "longitude", true, false);
                    latitude = self.coordinate(&o, "latitude", true, true);
                    if o.get("geofence").is_some() {
                        self.problem(o.path("geofence"), "only an area (stationType 2) has a geofence");
                    }
                }
                Some(StationType::Area) => {
                    for k in ["longitude", "latitude"] {
                        if o.get(k).is_some() {
                            self.problem(o.path(k), "an area (stationType 2) is given by its geofence, not by a point");
                        }
                    }
                    if let Some(points) = self.array(&o, "geofence", true) {
                        geofence = self.geofence(points, &o.path("geofence"));
                    }
                }
                None => {}
            }
            let (Some(code), Some(name), Some(city), Some(boarding), Some(alighting), Some(kind)) = (code, name, city, boarding, alighting, kind)
            else {
                continue;
            };
            out.push(Station {
                seq: i as u32 + 1,
                station_code: code,
                station_name: name,
                city_code: city.code.clone(),
                city_name: city.name.clone(),
                station_address: address,
                station_type: kind,
                longitude,
                latitude,
                geofence,
                station_feature: feature,
                boarding,
                alighting,
                offset_minutes: offset.unwrap_or(0),
            });
        }
        if self.problems.len() > before {
            return None;
        }
        let first_boarding = out.iter().position(|s| s.boarding);
        let last_alighting = out.iter().rposition(|s| s.alighting);
        match (first_boarding, last_alighting) {
            (Some(b), Some(a)) if b < a => {}
            _ => self.problem(path, "a line needs a boarding station before an alighting station"),
        }
        (self.problems.len() == before).then_some(out)
    }

    fn geofence(&mut self, items: &[Node], path: &str) -> Vec<GeoPoint> {
        let before = self.problems.len();
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["longitude", "latitude"]) else { continue };
            let lng = self.coordinate(&o, "longitude", true, false);
            let lat = self.coordinate(&o, "latitude", true, true);
            if let (Some(lng), Some(lat)) = (lng, lat) {
                out.push(GeoPoint::new(lng, lat));
            }
        }
        if self.problems.len() == before {
            for message in geo::geofence_problems(&out) {
                self.problem(path, message);
            }
        }
        out
    }

    fn segment_prices(&mut self, items: &[Node], path: &str, stations: &[Station]) -> Option<Vec<SegmentPrice>> {
        let before = self.problems.len();
        if items.is_empty() {
            self.problem(path, "at least one segment price is required");
        }
        let mut out: Vec<SegmentPrice> = Vec::new();
        let index = |code: &str| stations.iter().position(|s| s.station_code == code);
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["fromStationCode", "toStationCode", "price", "childPrice"]) else { continue };
            let from = self.id(&o, "fromStationCode", true);
            let to = self.id(&o, "toStationCode", true);
            let price = self.uint(&o, "price", true, 0, MAX_FEN);
            let child_price = self.uint(&o, "childPrice", false, 0, MAX_FEN);
            let (Some(from), Some(to), Some(price)) = (from, to, price) else { continue };
            let fi = index(&from);
            let ti = index(&to);
            match fi {
                None => self.problem(o.path("fromStationCode"), format!("{from} is not a station of this line")),
                Some(f) if !stations[f].boarding => self.problem(o.path("fromStationCode"), format!("{from} is not a boarding station")),
                _ => {}
            }
            match ti {
                None => self.problem(o.path("toStationCode"), format!("{to} is not a station of this line")),
                Some(t) if !stations[t].alighting => self.problem(o.path("toStationCode"), format!("{to} is not an alighting station")),
                _ => {}
            }
            if let (Some(f), Some(t)) = (fi, ti) {
                if t <= f {
                    self.problem(&p, format!("{to} must come after {from} on the line"));
                }
            }
            if out.iter().any(|x| x.from_station_code == from && x.to_station_code == to) {
                self.problem(&p, format!("{from}→{to} already has a price"));
            }
            out.push(SegmentPrice { from_station_code: from, to_station_code: to, price: price as i64, child_price: child_price.map(|c| c as i64) });
        }
        if self.problems.len() > before {
            return None;
        }
        // The default segment (first boarding → last alighting) must be sold, and every
        // boarding / alighting station must take part in a sold segment.
        if let (Some(b), Some(a)) = (stations.iter().find(|s| s.boarding), stations.iter().rev().find(|s| s.alighting)) {
            if !out.iter().any(|x| x.from_station_code == b.station_code && x.to_station_code == a.station_code) {
                self.problem(
                    path,
                    format!("the default segment {}→{} (first boarding to last alighting station) needs a price", b.station_code, a.station_code),
                );
            }
        }
        for (i, s) in stations.iter().enumerate() {
            if s.boarding && !out.iter().any(|x| x.from_station_code == s.station_code) && i + 1 < stations.len() {
                self.problem(path, format!("boarding station {} has no segment price starting there", s.station_code));
            }
            if s.alighting && !out.iter().any(|x| x.to_station_code == s.station_code) && i > 0 {
                self.problem(path, format!("alighting station {} has no segment price ending there", s.station_code));
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn transfer_points(&mut self, items: &[Node], path: &str) -> Option<Vec<TransferPoint>> {
        let before = self.problems.len();
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = self.object(n, &p, &["name", "address", "longitude", "latitude", "desc"]) else { continue };
            let name = self.string(&o, "name", true, MAX_NAME);
            let address = self.string(&o, "address", false, MAX_TEXT);
            let longitude = self.coordinate(&o, "longitude", false, false);
            let latitude = self.coordinate(&o, "latitude", false, true);
            if o.get("longitude").is_some() != o.get("latitude").is_some() {
                self.problem(&p, "give both longitude and latitude, or neither");
            }
            let desc = self.string(&o, "desc", false, MAX_TEXT);
            if let Some(name) = name {
                out.push(TransferPoint { name, address, longitude, latitude, desc });
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn timetable(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> TimetableEntry {
        let empty = TimetableEntry { from: NaiveDate::MIN, to: NaiveDate::MIN, weekdays: Vec::new(), times: Vec::new(), seats: None };
        let before = self.problems.len();
        let Some(o) = self.object(n, path, &["from", "to", "weekdays", "times", "seats"]) else { return empty };
        let from = self.date(&o, "from", true);
        let to = self.date(&o, "to", true);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                self.problem(o.path("to"), format!("{t} is before from {f}"));
            } else if (t - f).num_days() >= MAX_TIMETABLE_DAYS {
                self.problem(o.path("to"), format!("a timetable entry covers at most {MAX_TIMETABLE_DAYS} days"));
            }
        }
        let mut weekdays = Vec::new();
        if let Some(items) = self.array(&o, "weekdays", false) {
            if items.is_empty() {
                self.problem(o.path("weekdays"), "list at least one weekday (1 = Monday … 7 = Sunday), or leave the field out for every day");
            }
            for (i, n) in items.iter().enumerate() {
                let p = format!("{}[{i}]", o.path("weekdays"));
                if let Some(d) = self.uint_node(n, &p, 1, 7) {
                    if weekdays.contains(&(d as u8)) {
                        self.problem(p, format!("weekday {d} is listed twice"));
                    } else {
                        weekdays.push(d as u8);
                    }
                }
            }
        }
        let mut times = Vec::new();
        if let Some(items) = self.array(&o, "times", true) {
            if items.is_empty() {
                self.problem(o.path("times"), "at least one departure time is required");
            }
            for (i, n) in items.iter().enumerate() {
                let p = format!("{}[{i}]", o.path("times"));
                if let Some(t) = self.departure_time_node(n, &p, time_type) {
                    if times.contains(&t) {
                        self.problem(p, format!("{t} is listed twice"));
                    } else {
                        times.push(t);
                    }
                }
            }
        }
        let seats = self.uint(&o, "seats", false, 1, MAX_SEATS).map(|s| s as u32);
        match (from, to) {
            (Some(from), Some(to)) if self.problems.len() == before => TimetableEntry { from, to, weekdays, times, seats },
            _ => empty,
        }
    }

    fn departure(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> DepartureEntry {
        let before = self.problems.len();
        let placeholder = || DepartureEntry {
            schedule_id: Some(format!("\u{0}{path}")),
            date: Some(NaiveDate::MIN),
            time: Some(match time_type {
                Some(TimeType::Rolling) => {
                    DepartureTime::Window { begin: chrono::NaiveTime::MIN, end: chrono::NaiveTime::from_hms_opt(1, 0, 0).expect("time") }
                }
                _ => DepartureTime::Fixed(chrono::NaiveTime::MIN),
            }),
            ..Default::default()
        };
        let Some(o) = self.object(n, path, &["scheduleId", "date", "time", "seats", "stopped", "resume"]) else { return placeholder() };
        let schedule_id = self.id(&o, "scheduleId", false);
        let date = self.date(&o, "date", false);
        let time = o.get("time").and_then(|t| self.departure_time_node(t, &o.path("time"), time_type));
        let seats = self.uint(&o, "seats", false, 1, MAX_SEATS).map(|s| s as u32);
        let stopped = match o.get("stopped") {
            Some(Node { value: Value::Bool(_), .. }) => {
                self.problem(o.path("stopped"), "give the reason as a string, e.g. \"车辆检修\"");
                None
            }
            _ => self.string(&o, "stopped", false, MAX_TEXT),
        };
        let resume = self.boolean(&o, "resume", false).unwrap_or(false);
        if stopped.is_some() && resume {
            self.problem(path, "stopped and resume cannot both be given");
        }
        if self.problems.len() > before {
            return placeholder();
        }
        DepartureEntry { schedule_id, date, time, seats, stopped, resume }
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
