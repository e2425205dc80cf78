//! Cities, lines and their refund tiers.

use std::collections::HashMap;

use super::{child, Reader, MAX_NAME, MAX_PRESELL_DAYS, MAX_PRESELL_MINUTES, MAX_SEATS, MAX_TEXT};
use crate::catalogue::file::{LineEntry, MAX_GENERATING_LINE_ID};
use crate::catalogue::model::{City, Line, RefundTier, TimeType};
use crate::catalogue::queries::city_matches;
use crate::catalogue::refund::tier_problems;
use busgate_json::{Node, Value};

impl Reader {
    pub(super) fn cities(&mut self, items: &[Node]) -> Vec<City> {
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

    pub(super) fn tiers(&mut self, node: &Node, path: &str) -> Option<Vec<RefundTier>> {
        let Value::Array(items) = &node.value else {
            self.problem(path, format!("must be an array of tiers, not {}", node.value.a_kind()));
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

    pub(super) fn line(&mut self, n: &Node, path: &str, cities: &[City], sets: &HashMap<String, Vec<RefundTier>>) -> Option<LineEntry> {
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
}
