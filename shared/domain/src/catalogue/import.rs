//! `busgate catalogue import FILE`: [`parse_import`] checks the whole file and reports every
//! problem with its line and JSON path; [`apply_import`] then brings the store in line with
//! it, idempotently. Also the back office's [`stop_departure`] / [`resume_departure`].
//!
//! Applying a file:
//!
//! 1. reads the catalogue partition and each declared departure (`query(DEP#…)`);
//! 2. decides, per departure, the record it should be; an identical record is not written,
//!    so importing the same file again writes nothing;
//! 3. checks what only the store can tell (a `scheduleId` of another line, a capacity below
//!    the seats already sold); any such problem rejects the import before anything is written;
//! 4. writes, in transactions of at most 100 writes: the changed departure, its seat counter
//!    (created once with the capacity, afterwards only moved by `Write::Count` deltas), a
//!    change record (created / price / time / stop / resume / seats / line fields), and one
//!    `taobao.bus.item.notify` callback per affected (from city, to city, date), coalesced
//!    (§4.5). A key's callback rides in the transaction of the *last* change of that key, so
//!    it is never committed before a change it announces. A departure that has left (D ≤ now)
//!    is never changed.
//!
//! A transaction that loses a race (a concurrent order on a counter, another import) makes the
//! import start over on fresh reads; what was committed is then unchanged and not rewritten.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::gmt8;
use crate::outbox::{new_callback_id, BusCallback, Callback, CallbackStatus, Destination};
use crate::store::{Condition, Item, Store, StoreError, Write, MAX_TRANSACTION_WRITES};

use super::file::{CatalogueFile, ImportProblem, PlannedDeparture};
use super::model::{Departure, DepartureTime, Line, SegmentPrice, Stop};
use super::records::{self, load_catalogue, load_departure_record, month_of, LineRecord, LoadedDeparture, NotifyMark};

pub use super::validate::{is_city_code, is_valid_id, parse_import};

/// Longest stop reason.
const MAX_REASON: usize = 256;

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

/// Settings of [`apply_import`], [`stop_departure`] and [`resume_departure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// `notify_coalesce_secs` (§2.2): a notify for a (from, to, date) queued this recently and
    /// not yet attempted covers a new change of the same key.
    pub notify_coalesce_secs: i64,
    /// How many times to start over after losing a race.
    pub max_attempts: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { notify_coalesce_secs: 60, max_attempts: 5 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file does not fit the store; nothing was written.
    #[error("{} problem(s); nothing was imported", .0.len())]
    Rejected(Vec<ImportProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Departures the file declares.
    pub departures: usize,
    pub created: usize,
    /// Existing departures rewritten.
    pub changed: usize,
    pub unchanged: usize,
    /// Departures that have left (D ≤ now): never created or changed.
    pub skipped_departed: usize,
    pub price_changes: usize,
    pub time_changes: usize,
    pub seat_changes: usize,
    pub stops: usize,
    pub resumes: usize,
    /// Departures whose other line data (stations, rules, …) changed.
    pub line_changes: usize,
    pub cities_written: usize,
    pub lines_written: usize,
    /// `taobao.bus.item.notify` callbacks written (hand their ids to the delivery queue).
    pub callback_ids: Vec<String>,
    /// Notifications covered by one already queued (§4.5 coalescing).
    pub notifications_coalesced: usize,
    pub transactions: usize,
    pub writes: usize,
    /// One line per changed departure, for the operator.
    pub log: Vec<String>,
}

impl ImportReport {
    /// Whether the import wrote nothing.
    pub fn is_noop(&self) -> bool {
        self.writes == 0
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} departures: {} created, {} changed, {} unchanged, {} departed (left as they are)",
            self.departures, self.created, self.changed, self.unchanged, self.skipped_departed
        )?;
        writeln!(
            f,
            "changes: {} price, {} time, {} seats, {} stopped, {} resumed, {} other line data",
            self.price_changes, self.time_changes, self.seat_changes, self.stops, self.resumes, self.line_changes
        )?;
        writeln!(f, "catalogue: {} cities and {} lines written", self.cities_written, self.lines_written)?;
        write!(
            f,
            "item.notify: {} queued, {} coalesced; {} writes in {} transactions",
            self.callback_ids.len(),
            self.notifications_coalesced,
            self.writes,
            self.transactions
        )
    }
}

/// One recorded change of a departure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Change {
    Created {
        date: NaiveDate,
        time: DepartureTime,
        seats: u32,
    },
    Price {
        before: Vec<SegmentPrice>,
        after: Vec<SegmentPrice>,
    },
    /// D moved (`yyyy-MM-dd HH:mm` or `… HH:mm-HH:mm`).
    Time {
        before: String,
        after: String,
    },
    Seats {
        before: u32,
        after: u32,
    },
    Stopped {
        reason: String,
    },
    Resumed,
    /// Other line data changed (field names).
    Line {
        fields: Vec<String>,
    },
}

/// A change record: what changed on a departure, when, and by what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    pub schedule_id: String,
    pub line_id: String,
    pub at: DateTime<Utc>,
    /// `import` or `back office`.
    pub source: String,
    pub changes: Vec<Change>,
}

impl ChangeRecord {
    /// The write that records it (`CHG#<scheduleId>` / `<rfc3339>#<random>`, indexed by day).
    pub fn insert(&self) -> Write {
        use rand::Rng;
        let n: u32 = rand::rng().random();
        let at = self.at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let day = self.at.with_timezone(&gmt8()).date_naive();
        let item = Item::new(
            crate::store::Key::new(records::change_pk(&self.schedule_id), format!("{at}#{n:08X}")),
            serde_json::to_string(self).expect("change serialises"),
        )
        .with_index(records::change_day_index_pk(day), format!("{at}#{}#{n:08X}", self.schedule_id));
        Write::Put { item, condition: Condition::Absent }
    }
}

/// The change history of a departure, oldest first (one query).
pub async fn list_changes(store: &dyn Store, schedule_id: &str) -> Result<Vec<ChangeRecord>, StoreError> {
    store.query(&records::change_pk(schedule_id), "").await?.iter().map(|i| i.decode()).collect()
}

/// The changes recorded on one day (GMT+8), oldest first (one index query).
pub async fn list_changes_on(store: &dyn Store, day: NaiveDate) -> Result<Vec<ChangeRecord>, StoreError> {
    store.query_index(&records::change_day_index_pk(day), "").await?.iter().map(|i| i.decode()).collect()
}

/// The changes between two versions of a departure (none if equal).
fn diff(before: Option<&Departure>, after: &Departure) -> Vec<Change> {
    let Some(b) = before else {
        let mut out = vec![Change::Created { date: after.from_date, time: after.time, seats: after.seats }];
        if let Some(s) = &after.stop {
            out.push(Change::Stopped { reason: s.reason.clone() });
        }
        return out;
    };
    let mut out = Vec::new();
    if b.line.segment_prices != after.line.segment_prices {
        out.push(Change::Price { before: b.line.segment_prices.clone(), after: after.line.segment_prices.clone() });
    }
    if b.from_date != after.from_date || b.time != after.time {
        out.push(Change::Time { before: format!("{} {}", b.from_date, b.time), after: format!("{} {}", after.from_date, after.time) });
    }
    if b.seats != after.seats {
        out.push(Change::Seats { before: b.seats, after: after.seats });
    }
    match (&b.stop, &after.stop) {
        (None, Some(s)) => out.push(Change::Stopped { reason: s.reason.clone() }),
        (Some(_), None) => out.push(Change::Resumed),
        (Some(x), Some(y)) if x.reason != y.reason => out.push(Change::Stopped { reason: y.reason.clone() }),
        _ => {}
    }
    let fields = line_field_changes(&b.line, &after.line);
    if !fields.is_empty() {
        out.push(Change::Line { fields });
    }
    out
}

fn line_field_changes(a: &Line, b: &Line) -> Vec<String> {
    let mut f = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            f.push(name.to_string());
        }
    };
    check("name", a.name == b.name);
    check("desc", a.desc == b.desc);
    check("enabled", a.enabled == b.enabled);
    check("fromTimeType", a.from_time_type == b.from_time_type);
    check("preSellDay", a.pre_sell_day == b.pre_sell_day);
    check("presellTime", a.presell_time == b.presell_time);
    check("stations", a.stations == b.stations);
    check("transferPoints", a.transfer_points == b.transfer_points);
    check("isOrderRefund", a.is_order_refund == b.is_order_refund);
    check("refundRules", a.refund_rules == b.refund_rules);
    check("backDays", a.back_days == b.back_days);
    check("certificateTypes", a.certificate_types == b.certificate_types);
    check("fetchTicketSpot", a.fetch_ticket_spot == b.fetch_ticket_spot);
    check("ticketWicket", a.ticket_wicket == b.ticket_wicket);
    check("driverContactPhone", a.driver_contact_phone == b.driver_contact_phone);
    f
}

/// Whether Fliggy's view of a departure differs (everything it pulls; not the capacity or a
/// stop reason).
fn fliggy_view_differs(a: &Departure, b: &Departure) -> bool {
    a.line != b.line || a.from_date != b.from_date || a.time != b.time || a.stop.is_some() != b.stop.is_some()
}

/// A (from city, to city, date) that an `item.notify` announces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotifyKey {
    pub from_city_code: String,
    pub from_city: String,
    pub to_city_code: String,
    pub to_city: String,
    pub date: NaiveDate,
}

impl NotifyKey {
    /// What the callback announces.
    pub fn callback(&self) -> BusCallback {
        BusCallback::DeparturesChanged { from_city: self.from_city.clone(), to_city: self.to_city.clone(), date: self.date }
    }
}

/// The (from city, to city, date) keys of a departure: every sold segment's city pair on its date.
pub fn notify_keys(dep: &Departure) -> Vec<NotifyKey> {
    dep.line
        .city_pairs()
        .into_iter()
        .map(|(f, t)| NotifyKey {
            from_city_code: f.city_code.clone(),
            from_city: f.city_name.clone(),
            to_city_code: t.city_code.clone(),
            to_city: t.city_name.clone(),
            date: dep.from_date,
        })
        .collect()
}

/// Decides whether `key` needs a new callback at `now`, or is covered by one queued less than
/// `coalesce_secs` ago that has not been attempted yet. Returns the writes of a new callback.
async fn plan_notify(
    store: &dyn Store,
    key: &NotifyKey,
    now: DateTime<Utc>,
    coalesce_secs: i64,
    subject: &str,
) -> Result<Option<(String, Vec<Write>)>, StoreError> {
    let mark_key = records::notify_key(&key.from_city_code, &key.to_city_code, key.date);
    let mark = store.get(&mark_key).await?;
    if let Some(item) = &mark {
        let m: NotifyMark = item.decode()?;
        if m.queued_at + Duration::seconds(coalesce_secs) > now && m.queued_at <= now {
            if let Some(cb) = store.get(&Callback::key(&m.callback_id)).await? {
                let cb: Callback = cb.decode()?;
                if cb.status == CallbackStatus::Pending && cb.attempts == 0 {
                    return Ok(None);
                }
            }
        }
    }
    let id = new_callback_id(now);
    let cb = Callback::new(&id, Destination::Bus { callback: key.callback() }, subject, now);
    let body = serde_json::to_string(&NotifyMark { callback_id: id.clone(), queued_at: now }).expect("mark serialises");
    let expires = (now + Duration::days(2)).timestamp();
    let (condition, version) = match &mark {
        Some(item) => (Condition::Version(item.version), item.version + 1),
        None => (Condition::Absent, 1),
    };
    let put = Write::Put { item: Item::new(mark_key, body).with_version(version).with_expiry(expires), condition };
    Ok(Some((id, vec![cb.insert(), put])))
}

/// The writes of one departure's change, and what it announces.
struct Unit {
    writes: Vec<Write>,
    keys: Vec<NotifyKey>,
    /// Report bookkeeping.
    created: bool,
    changes: Vec<Change>,
    log: String,
}

/// The writes of a departure going from `before` to `after` (`None` = new): the record, the
/// counter (created, or moved by the capacity delta), and a change record.
fn departure_unit(before: Option<&LoadedDeparture>, after: &Departure, source: &str, now: DateTime<Utc>) -> Unit {
    let mut writes = Vec::new();
    let (condition, version) = match before {
        Some(b) => (Condition::Version(b.version), b.version + 1),
        None => (Condition::Absent, 1),
    };
    writes.push(Write::Put { item: records::departure_item(after, version), condition });
    match before {
        Some(b) if b.has_counter => {
            let delta = i64::from(after.seats) - i64::from(b.departure.seats);
            if delta != 0 {
                writes.push(Write::Count { key: records::seats_key(&after.schedule_id), delta, floor: Some(0) });
            }
        }
        _ => writes.push(Write::Put { item: records::new_seats_item(after), condition: Condition::Absent }),
    }
    let changes = diff(before.map(|b| &*b.departure), after);
    let record = ChangeRecord {
        schedule_id: after.schedule_id.clone(),
        line_id: after.line.id.clone(),
        at: now,
        source: source.to_string(),
        changes: changes.clone(),
    };
    writes.push(record.insert());
    let mut keys = Vec::new();
    let announce = before.is_none_or(|b| fliggy_view_differs(&b.departure, after));
    if announce {
        if let Some(b) = before {
            keys.extend(notify_keys(&b.departure));
        }
        keys.extend(notify_keys(after));
        keys.sort();
        keys.dedup();
    }
    let log = format!("{} ({} {}): {}", after.schedule_id, after.from_date, after.time, describe(&changes));
    Unit { writes, keys, created: before.is_none(), changes, log }
}

fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match c {
            Change::Created { seats, .. } => format!("created with {seats} seats"),
            Change::Price { .. } => "price changed".to_string(),
            Change::Time { before, after } => format!("moved from {before} to {after}"),
            Change::Seats { before, after } => format!("seats {before} → {after}"),
            Change::Stopped { reason } => format!("stopped ({reason})"),
            Change::Resumed => "resumed".to_string(),
            Change::Line { fields } => format!("line data changed: {}", fields.join(", ")),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Attaches the notify writes to the units (each key on the last unit announcing it) and
/// returns the callback ids and the number of coalesced keys.
async fn attach_notifies(
    store: &dyn Store,
    units: &mut [Unit],
    now: DateTime<Utc>,
    options: &ImportOptions,
    subject: &str,
) -> Result<(Vec<String>, usize), StoreError> {
    let mut last: BTreeMap<NotifyKey, usize> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        for k in &u.keys {
            last.insert(k.clone(), i);
        }
    }
    let mut ids = Vec::new();
    let mut coalesced = 0;
    for (key, i) in last {
        match plan_notify(store, &key, now, options.notify_coalesce_secs, subject).await? {
            Some((id, writes)) => {
                ids.push(id);
                units[i].writes.extend(writes);
            }
            None => coalesced += 1,
        }
    }
    Ok((ids, coalesced))
}

/// Groups writes into transactions of at most [`MAX_TRANSACTION_WRITES`], never splitting a
/// unit's departure writes; a unit that alone exceeds the limit (a line with very many city
/// pairs) has its surplus notify writes in the next transaction.
fn batches(units: Vec<Vec<Write>>) -> Vec<(Vec<Write>, usize)> {
    let mut out: Vec<(Vec<Write>, usize)> = Vec::new();
    let mut cur: Vec<Write> = Vec::new();
    let mut cur_units = 0;
    for mut w in units {
        if !cur.is_empty() && cur.len() + w.len() > MAX_TRANSACTION_WRITES {
            out.push((std::mem::take(&mut cur), cur_units));
            cur_units = 0;
        }
        while w.len() > MAX_TRANSACTION_WRITES {
            let rest = w.split_off(MAX_TRANSACTION_WRITES);
            out.push((w, 0));
            w = rest;
        }
        cur.extend(w);
        cur_units += 1;
    }
    if !cur.is_empty() {
        out.push((cur, cur_units));
    }
    out
}

fn is_race(e: &StoreError) -> bool {
    matches!(e, StoreError::ConditionFailed { .. } | StoreError::Conflict)
}

/// Brings the store in line with a validated catalogue file (see the module doc). Idempotent:
/// importing the same file again writes nothing. `progress(done, total)` is called as
/// departures are read and written (total = 2 × departures).
pub async fn apply_import(
    store: &dyn Store,
    file: &CatalogueFile,
    now: DateTime<Utc>,
    options: &ImportOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ImportReport, ImportError> {
    let planned = file.planned_departures().map_err(ImportError::Rejected)?;
    let mut report = ImportReport { departures: planned.len(), ..Default::default() };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match apply_once(store, file, &planned, now, options, progress, &mut report).await {
            Ok(()) => return Ok(report),
            Err(ImportError::Store(e)) if is_race(&e) && attempt < options.max_attempts.max(1) => {
                tracing::info!(attempt, error = %e, "catalogue import lost a race; starting over on fresh reads");
            }
            Err(e) => return Err(e),
        }
    }
}

async fn apply_once(
    store: &dyn Store,
    file: &CatalogueFile,
    planned: &[PlannedDeparture],
    now: DateTime<Utc>,
    options: &ImportOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let total = planned.len() * 2;
    let snap = load_catalogue(store).await?;

    // 1. Read and decide every departure.
    let mut problems = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut unchanged = 0;
    let mut departed = 0;
    let mut months: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for (i, p) in planned.iter().enumerate() {
        let entry = &file.lines[p.line_index];
        let loaded = load_departure_record(store, &p.schedule_id).await?;
        progress(i + 1, total);
        let desired = match &loaded {
            Some(l) if l.departure.line.id != entry.line.id => {
                problems.push(ImportProblem::new(&p.path, format!("scheduleId {} already belongs to line {}", p.schedule_id, l.departure.line.id)));
                continue;
            }
            Some(l) if l.departure.departure_instant() <= now => {
                departed += 1;
                continue;
            }
            Some(l) => {
                let old = &l.departure;
                let stop = match (&p.stop, &old.stop) {
                    (Some(reason), Some(s)) => Some(Stop { at: s.at, reason: reason.clone() }),
                    (Some(reason), None) => Some(Stop { at: now, reason: reason.clone() }),
                    (None, _) if p.resume => None,
                    (None, s) => s.clone(),
                };
                let sold = i64::from(old.seats) - l.seats_left;
                if l.has_counter && i64::from(p.seats) < sold {
                    problems.push(ImportProblem::new(
                        &p.path,
                        format!("{}: {} seats is fewer than the {} already sold or held", p.schedule_id, p.seats, sold),
                    ));
                    continue;
                }
                Departure {
                    schedule_id: p.schedule_id.clone(),
                    line: entry.line.clone(),
                    from_date: p.date,
                    time: p.time,
                    seats: p.seats,
                    stop,
                    seats_date: old.seats_date,
                }
            }
            None => {
                let d = Departure {
                    schedule_id: p.schedule_id.clone(),
                    line: entry.line.clone(),
                    from_date: p.date,
                    time: p.time,
                    seats: p.seats,
                    stop: p.stop.as_ref().map(|reason| Stop { at: now, reason: reason.clone() }),
                    seats_date: p.date,
                };
                if d.departure_instant() <= now {
                    departed += 1;
                    continue;
                }
                d
            }
        };
        let m = months.entry(entry.line.id.as_str()).or_default();
        m.insert(month_of(desired.from_date));
        m.insert(month_of(desired.seats_date));
        if loaded.as_ref().is_some_and(|l| *l.departure == desired && l.has_counter) {
            unchanged += 1;
            continue;
        }
        units.push(departure_unit(loaded.as_ref(), &desired, "import", now));
    }
    if !problems.is_empty() {
        return Err(ImportError::Rejected(problems));
    }

    // 2. Cities and lines of the catalogue partition.
    let mut cat_writes = Vec::new();
    let mut cities_written = 0;
    for city in &file.cities {
        match snap.cities.iter().find(|(c, _)| c.code == city.code) {
            Some((c, _)) if **c == *city => {}
            Some((_, v)) => cat_writes.push(Write::Put { item: records::city_item(city, v + 1), condition: Condition::Version(*v) }),
            None => cat_writes.push(Write::Put { item: records::city_item(city, 1), condition: Condition::Absent }),
        }
    }
    cities_written += cat_writes.len();
    for entry in &file.lines {
        let stored = snap.lines.iter().find(|(l, _)| l.line.id == entry.line.id);
        let mut m = stored.map(|(l, _)| l.months.clone()).unwrap_or_default();
        if let Some(new) = months.get(entry.line.id.as_str()) {
            m.extend(new.iter().cloned());
        }
        let record = LineRecord { line: entry.line.clone(), months: m };
        match stored {
            Some((l, _)) if **l == record => {}
            Some((_, v)) => cat_writes.push(Write::Put { item: records::line_item(&record, v + 1), condition: Condition::Version(*v) }),
            None => cat_writes.push(Write::Put { item: records::line_item(&record, 1), condition: Condition::Absent }),
        }
    }
    let lines_written = cat_writes.len() - cities_written;

    // 3. Notifies, then the transactions: catalogue records first, so that a listing finds
    //    a line before its departures.
    let (callback_ids, coalesced) = attach_notifies(store, &mut units, now, options, "catalogue import").await?;
    let mut groups: Vec<Vec<Write>> = cat_writes.into_iter().map(|w| vec![w]).collect();
    let cat_groups = groups.len();
    let unit_info: Vec<(bool, Vec<Change>, String)> = units.iter().map(|u| (u.created, u.changes.clone(), u.log.clone())).collect();
    groups.extend(units.into_iter().map(|u| u.writes));

    let mut done_units = 0usize;
    let mut group_index = 0usize;
    let base_done = planned.len() + unchanged + departed;
    progress(base_done.min(total), total);
    for (writes, n_groups) in batches(groups) {
        let n = writes.len();
        store.transact(writes).await?;
        report.transactions += 1;
        report.writes += n;
        // Account for the departure units this transaction completed.
        for g in group_index..group_index + n_groups {
            if g < cat_groups {
                continue;
            }
            let (created, changes, log) = &unit_info[g - cat_groups];
            done_units += 1;
            if *created {
                report.created += 1;
            } else {
                report.changed += 1;
            }
            for c in changes {
                match c {
                    Change::Created { .. } => {}
                    Change::Price { .. } => report.price_changes += 1,
                    Change::Time { .. } => report.time_changes += 1,
                    Change::Seats { .. } => report.seat_changes += 1,
                    Change::Stopped { .. } => report.stops += 1,
                    Change::Resumed => report.resumes += 1,
                    Change::Line { .. } => report.line_changes += 1,
                }
            }
            report.log.push(log.clone());
        }
        group_index += n_groups;
        progress((base_done + done_units).min(total), total);
    }
    let _ = unchanged;
    report.skipped_departed = departed;
    report.unchanged = report.departures.saturating_sub(report.created + report.changed + departed);
    report.cities_written += cities_written;
    report.lines_written += lines_written;
    report.callback_ids.extend(callback_ids);
    report.notifications_coalesced += coalesced;
    progress(total, total);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Back office: stop and resume
// ---------------------------------------------------------------------------------------------

/// Result of [`stop_departure`] / [`resume_departure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Done; the `item.notify` callbacks written (hand them to the delivery queue).
    Changed { callback_ids: Vec<String> },
    /// Already in that state: nothing written.
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopError {
    #[error("unknown scheduleId")]
    UnknownSchedule,
    #[error("invalid reason: {0}")]
    InvalidReason(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stops a departure (back office): it leaves the listings and the sale (`saleStatus` 0,
/// create `1102`), shows in stopped-schedules (§3.10), the change is recorded and
/// `item.notify` queued (coalesced), all in one transaction. Refunding its tickets is the
/// orders' business. Stopping a stopped departure changes nothing.
pub async fn stop_departure(
    store: &dyn Store,
    schedule_id: &str,
    reason: &str,
    now: DateTime<Utc>,
    options: &ImportOptions,
) -> Result<StopOutcome, StopError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(StopError::InvalidReason(format!("1–{MAX_REASON} characters")));
    }
    set_stop(store, schedule_id, Some(reason), now, options).await
}

/// Resumes a stopped departure (back office); the reverse of [`stop_departure`].
pub async fn resume_departure(store: &dyn Store, schedule_id: &str, now: DateTime<Utc>, options: &ImportOptions) -> Result<StopOutcome, StopError> {
    set_stop(store, schedule_id, None, now, options).await
}

async fn set_stop(
    store: &dyn Store,
    schedule_id: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
    options: &ImportOptions,
) -> Result<StopOutcome, StopError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let loaded = load_departure_record(store, schedule_id).await?.ok_or(StopError::UnknownSchedule)?;
        let mut after = Departure::clone(&loaded.departure);
        after.stop = match (reason, &loaded.departure.stop) {
            (Some(_), Some(_)) | (None, None) => return Ok(StopOutcome::Unchanged),
            (Some(r), None) => Some(Stop { at: now, reason: r.to_string() }),
            (None, Some(_)) => None,
        };
        let mut unit = departure_unit(Some(&loaded), &after, "back office", now);
        let (ids, _) = attach_notifies(store, std::slice::from_mut(&mut unit), now, options, "back office").await?;
        match store.transact(unit.writes).await {
            Ok(()) => return Ok(StopOutcome::Changed { callback_ids: ids }),
            Err(e) if is_race(&e) && attempt < options.max_attempts.max(1) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
