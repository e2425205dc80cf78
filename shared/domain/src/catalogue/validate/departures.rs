//! A line's timetable ranges and single departures.

use chrono::NaiveDate;

use super::{Reader, MAX_SEATS, MAX_TEXT, MAX_TIMETABLE_DAYS};
use crate::catalogue::file::{DepartureEntry, TimetableEntry};
use crate::catalogue::model::{DepartureTime, TimeType};
use busgate_json::{Node, Value};

impl Reader {
    pub(super) fn timetable(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> TimetableEntry {
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

    pub(super) fn departure(&mut self, n: &Node, path: &str, time_type: Option<TimeType>) -> DepartureEntry {
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
