//! `busgate catalogue import | stop | resume | export`.

use std::collections::{BTreeMap, HashMap};

use busgate_domain::catalogue::records::{line_month_index_pk, load_catalogue, DEPARTURE_SK, STOPPED_INDEX_PK};
use busgate_domain::catalogue::{
    apply_import, load_departure, parse_import, resume_departure, stop_departure, CatalogueFile, Departure, DepartureEntry, ImportError,
    ImportOptions, ImportProblem, ImportReport, LineEntry, StopError, StopOutcome,
};
use busgate_edge::App;
use serde_json::{json, Value};

use super::overlay::Overlay;
use super::{plural, AdminOutput};

fn options(app: &App) -> ImportOptions {
    ImportOptions { notify_coalesce_secs: app.config.notify_coalesce_secs as i64, ..Default::default() }
}

/// Every problem, one per line: `FILE:LINE: PATH: MESSAGE`.
fn problems_text(file_name: &str, problems: &[ImportProblem], what: &str) -> String {
    let mut s = format!("{file_name}: {}; {what}", plural(problems.len(), "problem"));
    for p in problems {
        match p.line {
            Some(n) => s.push_str(&format!("\n  {file_name}:{n}: {}: {}", p.path, p.message)),
            None => s.push_str(&format!("\n  {file_name}: {}: {}", p.path, p.message)),
        }
    }
    s
}

fn report_json(r: &ImportReport, dry_run: bool) -> Value {
    let mut v = json!({
        "dry_run": dry_run,
        "departures": r.departures,
        "created": r.created,
        "changed": r.changed,
        "unchanged": r.unchanged,
        "skipped_departed": r.skipped_departed,
        "price_changes": r.price_changes,
        "time_changes": r.time_changes,
        "seat_changes": r.seat_changes,
        "stops": r.stops,
        "resumes": r.resumes,
        "line_changes": r.line_changes,
        "cities_written": r.cities_written,
        "lines_written": r.lines_written,
        "notify_callbacks": r.callback_ids.len(),
        "notifications_coalesced": r.notifications_coalesced,
        "transactions": r.transactions,
        "writes": r.writes,
        "log": r.log,
    });
    if !dry_run {
        v["callback_ids"] = json!(r.callback_ids);
    }
    v
}

fn report_text(r: &ImportReport, dry_run: bool) -> String {
    let mut s = String::new();
    if dry_run {
        s.push_str("dry run: nothing was written; the import would do this:\n");
    }
    s.push_str(&r.to_string());
    if r.is_noop() {
        s.push_str("\nnothing to change: the store already matches the file");
    }
    for line in &r.log {
        s.push_str(&format!("\n  {line}"));
    }
    s
}

/// Checks a catalogue file alone (every problem, or nothing).
pub fn check_file(file_name: &str, text: &str) -> Result<CatalogueFile, String> {
    parse_import(text).map_err(|p| problems_text(file_name, &p, "nothing was imported"))
}

pub async fn import(app: &App, file_name: &str, text: &str, dry_run: bool, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<AdminOutput, String> {
    let file = check_file(file_name, text)?;
    let now = app.clock.now();
    let opts = options(app);
    let rejected = |e: ImportError| match e {
        ImportError::Rejected(p) => problems_text(file_name, &p, "nothing was imported"),
        ImportError::Store(e) => format!("{file_name}: {e}"),
    };
    if dry_run {
        let overlay = Overlay::new(app.store.as_ref());
        let report = apply_import(&overlay, &file, now, &opts, progress).await.map_err(rejected)?;
        return Ok(AdminOutput::new(report_text(&report, true), report_json(&report, true)));
    }
    let report = apply_import(app.store.as_ref(), &file, now, &opts, progress).await.map_err(rejected)?;
    app.dispatch(&report.callback_ids).await;
    Ok(AdminOutput::new(report_text(&report, false), report_json(&report, false)))
}

fn stop_error(schedule_id: &str, e: StopError) -> String {
    match e {
        StopError::UnknownSchedule => format!("departure {schedule_id} not found"),
        other => format!("departure {schedule_id}: {other}"),
    }
}

async fn describe(app: &App, schedule_id: &str) -> (String, Value) {
    match load_departure(app.store.as_ref(), schedule_id).await {
        Ok(Some((d, left))) => (
            format!("{} ({} {}, line {}, {} of {} seats left)", d.schedule_id, d.from_date, d.time, d.line.id, left, d.seats),
            json!({"schedule_id": d.schedule_id, "line_id": d.line.id, "date": d.from_date, "time": d.time.to_string(),
                   "seats": d.seats, "seats_left": left, "stopped": d.stop.as_ref().map(|s| json!({"at": s.at, "reason": s.reason}))}),
        ),
        _ => (schedule_id.to_string(), json!({"schedule_id": schedule_id})),
    }
}

pub async fn stop(app: &App, schedule_id: &str, reason: &str, refund: bool) -> Result<AdminOutput, String> {
    let outcome =
        stop_departure(app.store.as_ref(), schedule_id, reason, app.clock.now(), &options(app)).await.map_err(|e| stop_error(schedule_id, e))?;
    let mut out = changed(app, schedule_id, outcome, "stopped").await?;
    if refund {
        let (text, json, complete) = super::refunds::stopped_departure(app, schedule_id).await.map_err(|e| format!("{}\n{e}", out.text))?;
        out.text = format!("{}\n{text}", out.text);
        let mut ids = out.callback_ids();
        ids.extend(json["callback_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)));
        out.json["callback_ids"] = json!(ids);
        out.json["refunds"] = json;
        if !complete {
            // The stop and the refunds made are committed; say so, and fail the command.
            return Err(out.text);
        }
    }
    Ok(out)
}

pub async fn resume(app: &App, schedule_id: &str) -> Result<AdminOutput, String> {
    let outcome = resume_departure(app.store.as_ref(), schedule_id, app.clock.now(), &options(app)).await.map_err(|e| stop_error(schedule_id, e))?;
    changed(app, schedule_id, outcome, "resumed").await
}

async fn changed(app: &App, schedule_id: &str, outcome: StopOutcome, verb: &str) -> Result<AdminOutput, String> {
    let ids = match &outcome {
        StopOutcome::Changed { callback_ids } => callback_ids.clone(),
        StopOutcome::Unchanged => Vec::new(),
    };
    app.dispatch(&ids).await;
    let (label, departure) = describe(app, schedule_id).await;
    let text = match outcome {
        StopOutcome::Changed { .. } => {
            format!("{verb} {label}\nitem.notify: {} queued{}", ids.len(), if ids.is_empty() { " (covered by one queued moments ago)" } else { "" })
        }
        StopOutcome::Unchanged => format!("{label} was already {verb}: nothing changed"),
    };
    let changed = !matches!(outcome, StopOutcome::Unchanged);
    Ok(AdminOutput::new(text, json!({"changed": changed, "action": verb, "departure": departure, "callback_ids": ids})))
}

/// The stored catalogue as a catalogue file: cities, current lines, and every departure as an
/// explicit entry (id, date, time, capacity, stop reason). Importing it changes nothing.
pub async fn export(app: &App) -> Result<AdminOutput, String> {
    let store = app.store.as_ref();
    let err = |e: busgate_domain::store::StoreError| e.to_string();
    let snap = load_catalogue(store).await.map_err(err)?;
    let mut by_line: HashMap<String, BTreeMap<(String, String), Departure>> = HashMap::new();
    let mut add = |d: Departure| {
        let key = (format!("{}T{}", d.from_date, d.time.start().format("%H:%M")), d.schedule_id.clone());
        by_line.entry(d.line.id.clone()).or_default().insert(key, d);
    };
    for (line, _) in &snap.lines {
        for month in &line.months {
            for item in store.query_index(&line_month_index_pk(&line.line.id, month), "").await.map_err(err)? {
                if item.key.sk == DEPARTURE_SK {
                    add(item.decode().map_err(err)?);
                }
            }
        }
    }
    for item in store.query_index(STOPPED_INDEX_PK, "").await.map_err(err)? {
        if item.key.sk == DEPARTURE_SK {
            add(item.decode().map_err(err)?);
        }
    }
    let mut lines = Vec::new();
    let mut count = 0;
    for (record, _) in &snap.lines {
        let deps: Vec<Departure> = by_line.remove(&record.line.id).map(|m| m.into_values().collect()).unwrap_or_default();
        // The most common capacity becomes the line's default.
        let mut capacities: BTreeMap<u32, usize> = BTreeMap::new();
        for d in &deps {
            *capacities.entry(d.seats).or_default() += 1;
        }
        let seats = capacities.iter().max_by_key(|(seats, n)| (**n, **seats)).map(|(s, _)| *s).unwrap_or(1);
        count += deps.len();
        let departures = deps
            .into_iter()
            .map(|d| DepartureEntry {
                schedule_id: Some(d.schedule_id),
                date: Some(d.from_date),
                time: Some(d.time),
                seats: (d.seats != seats).then_some(d.seats),
                stopped: d.stop.map(|s| s.reason),
                resume: false,
            })
            .collect();
        lines.push(LineEntry { line: record.line.clone(), seats, timetable: Vec::new(), departures });
    }
    let file = CatalogueFile { cities: snap.cities.into_iter().map(|(c, _)| busgate_domain::catalogue::City::clone(&c)).collect(), lines };
    let text = file.to_json();
    let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    tracing::debug!(departures = count, "catalogue exported");
    Ok(AdminOutput::new(text, json))
}

/// The demo operator's catalogue file, dated from today (GMT+8): what local mode loads into an
/// empty store, and a starting point for an operator's own file.
pub async fn demo(app: &App) -> Result<AdminOutput, String> {
    let today = app.clock.now().with_timezone(&busgate_domain::gmt8()).date_naive();
    let text = busgate_domain::catalogue::demo_catalogue(today).to_json();
    let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(AdminOutput::new(text, json))
}
