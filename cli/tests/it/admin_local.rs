//! The back office against a running local mode: the command is POSTed to `/_local/admin`,
//! runs in the server with its App, and its callbacks go through the server's worker to the
//! fake TOP (and the fake Fenbeitong).

use crate::admin_support;

use std::time::Duration;

use admin_support::*;
use busgate_cli::local::{self, LocalOptions, Running, DEMO_FENBEITONG_TOKEN};
use busgate_domain::catalogue::demo::DEMO_AIRPORT_LINE;

async fn start(dir: &std::path::Path) -> Running {
    let opts = LocalOptions { addr: "127.0.0.1:0".parse().unwrap(), data: dir.join("data"), demo: true, sweep_every: Duration::from_secs(3600) };
    // No coalescing: the stop gets its own item.notify even right after the demo's.
    let env = |k: &str| (k == "BUSGATE_NOTIFY_COALESCE_SECS").then(|| "0".to_string());
    local::start(opts, &env).await.expect("local mode starts")
}

/// Runs the binary off the async workers (the server keeps serving meanwhile).
async fn run(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = command(&args, &[]).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    })
    .await
    .unwrap()
}

fn args(list: &[&str], server: &str) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.extend(["--server".to_string(), server.to_string()]);
    v
}

/// Waits until the fake TOP has recorded a call matching `pred`.
async fn wait_for_call(running: &Running, what: &str, pred: impl Fn(&local::RecordedCall) -> bool) -> local::RecordedCall {
    for _ in 0..100 {
        if let Some(c) = running.fake_top.calls().into_iter().find(|c| pred(c)) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {what} reached the fake TOP; calls: {:?}", running.fake_top.calls().iter().map(|c| &c.method).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_in_the_running_local_mode_and_its_worker_delivers_the_callbacks() {
    let dir = temp_dir("server");
    let running = start(&dir).await;
    let server = running.base_url();

    // A case opened through the server: its startRelation reaches the fake TOP.
    let open = run(args(&["cases", "open", "--order", "900000000077", "--note", "请协助核实", "--json"], &server)).await;
    let opened = open.ok().json();
    let case_id = opened["relation_case_id"].as_str().unwrap().to_string();
    assert!(open.stderr.is_empty(), "no 'pending in the store' note over HTTP: {}", open.stderr);
    let call = wait_for_call(&running, "startRelation", |c| {
        c.method == "alitrip.serve.workorder.relation" && c.params.values().any(|v| v.contains("900000000077"))
    })
    .await;
    assert!(call.signature_ok);
    // Fliggy accepted it: the case is open (the worker recorded the outcome in the server).
    let mut state = String::new();
    for _ in 0..50 {
        let show = run(args(&["cases", "show", &case_id, "--json"], &server)).await;
        state = show.ok().json()["case"]["state"].as_str().unwrap().to_string();
        if state == "OPEN" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "OPEN");

    // A stop through the server: item.notify for its date reaches the fake TOP.
    let file = demo();
    let dep = future_departure(&file, DEMO_AIRPORT_LINE);
    let stop = run(args(&["catalogue", "stop", &dep.schedule_id, "--reason", "道路封闭", "--json"], &server)).await;
    let stopped = stop.ok().json();
    let ids: Vec<String> = stopped["callback_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert!(!ids.is_empty(), "{stopped}");
    let date = dep.date.format("%Y-%m-%d").to_string();
    wait_for_call(&running, "item.notify", |c| {
        c.method == "taobao.bus.item.notify" && c.params.values().any(|v| v.contains(&date)) && c.answer.contains("is_success")
    })
    .await;
    // The outbox of the server shows them delivered.
    let mut delivered = false;
    for _ in 0..50 {
        let list = run(args(&["outbox", "list", "--delivered", "--json"], &server)).await.ok().json();
        let done: Vec<&str> = list["callbacks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        if ids.iter().all(|id| done.contains(&id.as_str())) {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "the stop's callbacks were delivered by the server's worker");

    // A notice received by the server, approved through it: the decision reaches Fenbeitong.
    let body = std::fs::read(fenbeitong_fixture("train_rebook.json")).unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{server}/fenbeitong/notify/{DEMO_FENBEITONG_TOKEN}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answer.contains("\"code\":0"), "{answer}");
    let pending = run(args(&["notices", "list", "--pending", "--json"], &server)).await.ok().json();
    let apply_id = pending["notices"][0]["apply_id"].as_str().unwrap().to_string();
    run(args(&["notices", "approve", &apply_id, "--comment", "同意"], &server)).await.ok();
    wait_for_call(&running, "the Fenbeitong decision", |c| c.method.starts_with("fenbeitong:")).await;

    // An import over HTTP: the report only, and the demo data is already there.
    let path = write_file(&dir, "demo.json", &file);
    let import = run(args(&["catalogue", "import", path.to_str().unwrap(), "--dry-run"], &server)).await;
    assert!(import.ok().stdout.contains("dry run: nothing was written"), "{}", import.stdout);

    // Errors of the command come back from the server, with a non-zero exit.
    let wrong = run(args(&["cases", "send", &case_id, "result", "--note", "x"], &server)).await;
    assert!(wrong.failed().stderr.contains("E_DIRECTION"), "{}", wrong.stderr);

    // The store is locked by the running local mode: with no server answering, a clear error.
    let data = dir.join("data");
    let locked = run(vec!["outbox".into(), "list".into(), "--data".into(), data.to_str().unwrap().into(), "--server".into(), NO_SERVER.into()]).await;
    assert!(locked.failed().stderr.contains("is locked by a running `busgate local`"), "{}", locked.stderr);

    running.stop();
    cleanup(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_route_refuses_what_is_not_a_command() {
    let dir = temp_dir("route");
    let running = start(&dir).await;
    let client = reqwest::Client::new();
    let url = format!("{}/_local/admin", running.base_url());
    let post = |content_type: &'static str, body: &'static str| client.post(&url).header("content-type", content_type).body(body).send();
    // A web page's simple cross-origin POST (text/plain) is refused.
    let r = post("text/plain", r#"{"command":"cases_list"}"#).await.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let r = post("application/json", r#"{"command":"format_disk"}"#).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("not an admin command"));
    let r = post("application/json", r#"{"command":"cases_show","id":"R404"}"#).await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(body["error"].as_str().unwrap().contains("E_CASE_NOT_FOUND"), "{body}");
    running.stop();
    cleanup(&dir);
}
