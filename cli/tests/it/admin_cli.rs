//! The back office through the real `busgate` binary, on an embedded store in a temp folder
//! (no local mode running): catalogue import / stop / resume / export, outbox, notices, cases.

use crate::admin_support;

use admin_support::*;
use busgate_domain::catalogue::demo::DEMO_AIRPORT_LINE;
use busgate_domain::catalogue::parse_import;
use serde_json::Value;

fn pending_callbacks(data: &std::path::Path) -> Vec<Value> {
    let run = busgate(data, &["outbox", "list", "--pending", "--json"]);
    run.ok();
    run.json()["callbacks"].as_array().unwrap().clone()
}

#[test]
fn an_import_with_mistakes_reports_every_one_and_applies_nothing() {
    let dir = temp_dir("mistakes");
    let data = dir.join("data");
    let mistakes = domain_fixture("mistakes.json");
    let text = std::fs::read_to_string(&mistakes).unwrap();
    let problems = parse_import(&text).expect_err("the fixture has mistakes");
    assert!(problems.len() > 5);

    let run = busgate(&data, &["catalogue", "import", mistakes.to_str().unwrap()]);
    run.failed();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains(&format!("{} problems; nothing was imported", problems.len())), "{}", run.stderr);
    for p in &problems {
        let line = p.line.expect("every problem has its line");
        let want = format!("mistakes.json:{line}: {}: {}", p.path, p.message);
        assert!(run.stderr.contains(&want), "missing `{want}` in:\n{}", run.stderr);
    }
    // Nothing applied: not even a store was created.
    assert!(!data.join("busgate.redb").exists());
    busgate(&data, &["outbox", "list"]).failed();

    // A good file then imports.
    let good = write_file(&dir, "demo.json", &demo());
    let run = busgate(&data, &["catalogue", "import", good.to_str().unwrap(), "--json"]);
    run.ok();
    let report = run.json();
    assert!(report["created"].as_u64().unwrap() > 0);

    // A mistake against a store that has data: still nothing applied.
    let mut bad = demo();
    bad.lines[0].line.name = String::new();
    bad.lines[0].seats = 7;
    let bad = write_file(&dir, "bad.json", &bad);
    let run = busgate(&data, &["catalogue", "import", bad.to_str().unwrap()]);
    run.failed();
    assert!(run.stderr.contains("lines[0].name"), "{}", run.stderr);
    let again = busgate(&data, &["catalogue", "import", good.to_str().unwrap(), "--dry-run", "--json"]);
    again.ok();
    assert_eq!(again.json()["writes"], 0, "{}", again.stdout);
    cleanup(&dir);
}

#[test]
fn importing_the_demo_catalogue_twice_changes_nothing_the_second_time() {
    let dir = temp_dir("twice");
    let data = dir.join("data");
    let file = demo();
    let path = write_file(&dir, "demo.json", &file);
    let planned = file.planned_departures().unwrap().len() as u64;

    let first = busgate(&data, &["catalogue", "import", path.to_str().unwrap(), "--json"]);
    first.ok();
    let r1 = first.json();
    assert_eq!(r1["departures"], planned);
    assert_eq!(r1["created"].as_u64().unwrap() + r1["skipped_departed"].as_u64().unwrap(), planned);
    assert!(!r1["callback_ids"].as_array().unwrap().is_empty());
    // No local mode: the callbacks wait in the store, and the operator is told.
    assert!(first.stderr.contains("pending in the store"), "{}", first.stderr);

    let second = busgate(&data, &["catalogue", "import", path.to_str().unwrap()]);
    second.ok();
    assert!(second.stdout.contains("0 created, 0 changed"), "{}", second.stdout);
    assert!(second.stdout.contains("nothing to change"), "{}", second.stdout);
    let second = busgate(&data, &["catalogue", "import", path.to_str().unwrap(), "--json"]);
    let r2 = second.ok().json();
    assert_eq!((r2["created"].as_u64(), r2["changed"].as_u64(), r2["writes"].as_u64()), (Some(0), Some(0), Some(0)));
    assert_eq!(r2["unchanged"], r1["created"]);
    assert!(r2["callback_ids"].as_array().unwrap().is_empty());
    assert!(!second.stderr.contains("pending"), "{}", second.stderr);

    // A dry run of a change reports it and writes nothing.
    let mut changed = file.clone();
    let airport = changed.lines.iter().position(|l| l.line.id == DEMO_AIRPORT_LINE).unwrap();
    changed.lines[airport].line.segment_prices[0].price += 100;
    let changed_path = write_file(&dir, "changed.json", &changed);
    let dry = busgate(&data, &["catalogue", "import", changed_path.to_str().unwrap(), "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.starts_with("dry run: nothing was written"), "{}", dry.stdout);
    let dry = busgate(&data, &["catalogue", "import", changed_path.to_str().unwrap(), "--dry-run", "--json"]).ok().json();
    let would_change = dry["changed"].as_u64().unwrap();
    assert!(would_change > 0 && dry["price_changes"].as_u64().unwrap() == would_change, "{dry}");
    assert!(dry.get("callback_ids").is_none());
    let real = busgate(&data, &["catalogue", "import", changed_path.to_str().unwrap(), "--json"]).ok().json();
    assert_eq!(real["changed"], would_change, "the dry run wrote nothing, so the real import makes every change");
    assert_eq!(real["notify_callbacks"], dry["notify_callbacks"]);

    // The export is a catalogue file that imports back unchanged.
    let export = busgate(&data, &["catalogue", "export"]);
    export.ok();
    parse_import(&export.stdout).unwrap_or_else(|p| panic!("{p:?}"));
    let exported = dir.join("exported.json");
    std::fs::write(&exported, &export.stdout).unwrap();
    let back = busgate(&data, &["catalogue", "import", exported.to_str().unwrap(), "--json"]).ok().json();
    assert_eq!(back["writes"], 0, "{back}");
    cleanup(&dir);
}

#[test]
fn stop_and_resume_queue_item_notify_callbacks() {
    let dir = temp_dir("stop");
    let data = dir.join("data");
    let file = demo();
    let path = write_file(&dir, "demo.json", &file);
    busgate(&data, &["catalogue", "import", path.to_str().unwrap()]).ok();
    let before: Vec<String> = pending_callbacks(&data).iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();

    let dep = future_departure(&file, DEMO_AIRPORT_LINE);
    // No coalescing, so the stop gets its own notifications even right after the import.
    let no_coalesce = [("BUSGATE_NOTIFY_COALESCE_SECS", "0")];
    let stop = busgate_env(&data, &["catalogue", "stop", &dep.schedule_id, "--reason", "车辆检修"], &no_coalesce);
    stop.ok();
    assert!(stop.stdout.starts_with(&format!("stopped {}", dep.schedule_id)), "{}", stop.stdout);
    assert!(stop.stderr.contains("sweeper of the next `busgate local`"), "{}", stop.stderr);

    let pending = pending_callbacks(&data);
    let new: Vec<&Value> = pending.iter().filter(|c| !before.contains(&c["id"].as_str().unwrap().to_string())).collect();
    assert!(!new.is_empty(), "the stop queued item.notify callbacks");
    for c in &new {
        assert_eq!(c["destination"]["method"], "taobao.bus.item.notify");
        assert_eq!(c["status"], "pending");
        assert_eq!(c["attempts"], 0);
    }
    // The table shows them too, newest last.
    let table = busgate(&data, &["outbox", "list", "--pending"]);
    table.ok();
    let last_line = table.stdout.lines().last().unwrap();
    assert!(new.iter().any(|c| last_line.starts_with(c["id"].as_str().unwrap())), "{}", table.stdout);
    assert!(last_line.contains("TOP taobao.bus.item.notify"), "{last_line}");
    let last = busgate(&data, &["outbox", "list", "--pending", "--last", "1", "--json"]).ok().json();
    assert_eq!(last["callbacks"].as_array().unwrap().len(), 1);

    // Stopping again changes nothing; resuming notifies again.
    let again = busgate_env(&data, &["catalogue", "stop", &dep.schedule_id, "--reason", "车辆检修", "--json"], &no_coalesce).ok().json();
    assert_eq!(again["changed"], false);
    assert!(again["callback_ids"].as_array().unwrap().is_empty());
    let resume = busgate_env(&data, &["catalogue", "resume", &dep.schedule_id, "--json"], &no_coalesce).ok().json();
    assert_eq!(resume["changed"], true);
    assert!(!resume["callback_ids"].as_array().unwrap().is_empty());

    // Unknown departures and empty reasons are refused.
    let unknown = busgate(&data, &["catalogue", "stop", "NO-SUCH-DEP", "--reason", "x"]);
    unknown.failed();
    assert!(unknown.stderr.contains("departure NO-SUCH-DEP not found"), "{}", unknown.stderr);
    busgate(&data, &["catalogue", "stop", &dep.schedule_id, "--reason", "  "]).failed();

    // Replay: only dead callbacks are replayed.
    let skip = busgate(&data, &["outbox", "replay", new[0]["id"].as_str().unwrap()]);
    skip.failed();
    assert!(skip.stderr.contains("pending, not dead"), "{}", skip.stderr);
    let none = busgate(&data, &["outbox", "replay", "--all-dead", "--json"]).ok().json();
    assert_eq!(none["replayed"].as_array().unwrap().len(), 0);
    cleanup(&dir);
}

#[test]
fn notices_are_listed_shown_approved_and_rejected() {
    let dir = temp_dir("notices");
    let data = dir.join("data");
    // Two notices received, as the Fenbeitong route stores them.
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = busgate_adapters::EmbeddedStore::open(&data).unwrap();
            for name in ["train_rebook.json", "flight_refund.json"] {
                let body = std::fs::read(fenbeitong_fixture(name)).unwrap();
                busgate_wire::fenbeitong::receive(&store, "demo", &body, chrono::Utc::now()).await.unwrap();
            }
        });
    }
    let listed = busgate(&data, &["notices", "list", "--pending", "--json"]).ok().json();
    let ids: Vec<String> = listed["notices"].as_array().unwrap().iter().map(|n| n["apply_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2);
    let table = busgate(&data, &["notices", "list"]);
    assert!(table.ok().stdout.contains(&ids[0]) && table.stdout.contains("pending"), "{}", table.stdout);

    let show = busgate(&data, &["notices", "show", &ids[0]]);
    show.ok();
    assert!(show.stdout.contains("as received:") && show.stdout.contains("Busgate order: not linked"), "{}", show.stdout);
    let show = busgate(&data, &["notices", "show", &ids[0], "--json"]).ok().json();
    assert_eq!(show["record"]["apply_id"], ids[0].as_str());
    busgate(&data, &["notices", "show", "404"]).failed();

    let approve = busgate(&data, &["notices", "approve", &ids[0], "--comment", "同意", "--json"]).ok().json();
    assert_eq!(approve["decision"]["approve"], true);
    assert_eq!(approve["decision"]["operator"], "测试员");
    // A rejection needs a comment; a notice is decided once.
    busgate(&data, &["notices", "reject", &ids[1]]).failed();
    let rejected = busgate(&data, &["notices", "reject", &ids[1], "--comment", "行程未变", "--operator", "小李"]);
    rejected.ok();
    assert!(rejected.stdout.contains("rejected by 小李"), "{}", rejected.stdout);
    let twice = busgate(&data, &["notices", "approve", &ids[1]]);
    twice.failed();
    assert!(twice.stderr.contains("already rejected by 小李"), "{}", twice.stderr);

    assert!(busgate(&data, &["notices", "list", "--pending", "--json"]).ok().json()["notices"].as_array().unwrap().is_empty());
    // The two decisions wait in the outbox for Fenbeitong.
    let pending = pending_callbacks(&data);
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|c| c["destination"]["to"] == "fenbeitong" && c["destination"]["company"] == "demo"));
    cleanup(&dir);
}

#[test]
fn cases_are_opened_listed_and_shown() {
    let dir = temp_dir("cases");
    let data = dir.join("data");
    busgate(&data, &["catalogue", "import", write_file(&dir, "demo.json", &demo()).to_str().unwrap()]).ok();

    let opened = busgate(&data, &["cases", "open", "--order", "900000000001", "--note", "乘客要求改签", "--json"]);
    let opened = opened.ok().json();
    let case_id = opened["relation_case_id"].as_str().unwrap().to_string();
    assert_eq!(opened["state"], "DRAFT");
    assert_eq!(opened["callback_ids"].as_array().unwrap().len(), 1);
    busgate(&data, &["cases", "open", "--order", "900000000002", "--note", "第二单"]).ok();
    busgate(&data, &["cases", "open", "--order", "not-an-order", "--note", "x"]).failed();

    let all = busgate(&data, &["cases", "list", "--json"]).ok().json();
    assert_eq!(all["cases"].as_array().unwrap().len(), 2);
    let mine = busgate(&data, &["cases", "list", "--open", "--order", "900000000001", "--json"]).ok().json();
    let mine = mine["cases"].as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["relation_case_id"], case_id.as_str());
    let table = busgate(&data, &["cases", "list"]);
    assert!(table.ok().stdout.contains(&case_id) && table.stdout.contains("DRAFT"), "{}", table.stdout);

    let show = busgate(&data, &["cases", "show", &case_id]);
    show.ok();
    assert!(show.stdout.contains("乘客要求改签") && show.stdout.contains("startRelation") && show.stdout.contains("测试员"), "{}", show.stdout);
    let detail = busgate(&data, &["cases", "show", &case_id, "--json"]).ok().json();
    assert_eq!(detail["history"].as_array().unwrap().len(), 1);
    busgate(&data, &["cases", "show", "R404"]).failed();

    // The state machine decides: a result comes from Fliggy on our own case.
    let wrong = busgate(&data, &["cases", "send", &case_id, "result", "--note", "x"]);
    wrong.failed();
    assert!(wrong.stderr.contains("E_DIRECTION"), "{}", wrong.stderr);
    let bad_kind = busgate(&data, &["cases", "send", &case_id, "shout", "--note", "x"]);
    assert!(bad_kind.failed().stderr.contains("E_INVALID_ENUM"), "{}", bad_kind.stderr);
    // Both startRelation messages wait in the outbox (no local mode running).
    assert_eq!(pending_callbacks(&data).iter().filter(|c| c["destination"]["method"] == "alitrip.serve.workorder.relation").count(), 2);
    cleanup(&dir);
}

#[test]
fn refusals_are_clear() {
    let dir = temp_dir("refusals");
    let data = dir.join("data");
    // No store in the folder.
    let run = busgate(&data, &["cases", "list"]);
    assert!(run.failed().stderr.contains("no store in"), "{}", run.stderr);
    // An unreadable file.
    let run = busgate(&data, &["catalogue", "import", dir.join("missing.json").to_str().unwrap()]);
    assert!(run.failed().stderr.contains("cannot read"), "{}", run.stderr);
    // AWS without its configuration.
    let run = run_aws(&["outbox", "list"]);
    assert!(run.failed().stderr.contains("BUSGATE_TABLE"), "{}", run.stderr);
    cleanup(&dir);
}

fn run_aws(args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--target", "aws"]);
    let mut cmd = command(&all, &[]);
    cmd.env_remove("BUSGATE_TABLE").env_remove("BUSGATE_QUEUE_URL");
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}
