//! The AWS stack as operators deploy it, run offline by `infra/stack.sh up`: every function of
//! template.yaml as its own process from its binary, with the template's environment and IAM
//! policies enforced, behind the HTTP API, the SQS event source and the schedule. The simulator
//! passes on it; partner decisions and collaboration replies reach the fake gateways; callbacks
//! survive partner failures, a killed worker and the dead-letter queue; cold starts survive a
//! slow secrets extension and fail cleanly on a missing parameter.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use busgate_cli::local::{DEMO_FENBEITONG_TOKEN, DEMO_QIMEN_SECRET};
use busgate_cli::sim::{run, Outcome, SimOptions};
use busgate_edge::{BusRoute, Route};
use busgate_tests::{call_bus, repo_file, wait_for, TempDir};
use serde_json::{json, Value};

/// A running offline stack, stopped on drop.
struct Stack {
    env: BTreeMap<String, String>,
    dir: TempDir,
}

fn target_dir() -> PathBuf {
    // tests run from <target>/debug/deps/<test>
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf()
}

impl Stack {
    fn up(args: &[&str]) -> Stack {
        let dir = TempDir::new();
        let mut cmd = Command::new("bash");
        cmd.arg(repo_file("infra/stack.sh")).arg("up").arg("--state-dir").arg(&dir.0).args(args);
        // A clean environment: the test runner's CARGO_* variables would make the build inside
        // `up` see a different configuration and compile everything again.
        cmd.env_clear();
        for (k, v) in std::env::vars() {
            let keep = ["PATH", "HOME", "USER", "LANG", "TMPDIR", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "BUSGATE_CACHE_DIR"]
                .contains(&k.as_str())
                || k.starts_with("AWS_ENDPOINT_URL_");
            if keep {
                cmd.env(k, v);
            }
        }
        let out = cmd.env("CARGO_TARGET_DIR", target_dir().parent().unwrap()).output().expect("infra/stack.sh runs");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "infra/stack.sh up failed:\n{stderr}");
        let env: BTreeMap<String, String> =
            String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
        for key in
            ["BUSGATE_BASE_URL", "BUSGATE_FAKE_TOP_URL", "BUSGATE_FAKE_FENBEITONG_URL", "BUSGATE_TABLE", "BUSGATE_QUEUE_URL", "BUSGATE_DLQ_URL"]
        {
            assert!(env.contains_key(key), "`up` did not print {key}:\n{stderr}");
        }
        Stack { env, dir }
    }

    fn base(&self) -> &str {
        &self.env["BUSGATE_BASE_URL"]
    }

    /// `busgate ARGS` with the stack's variables (`--target aws`).
    fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(target_dir().join("busgate"));
        cmd.args(args).env("BUSGATE_OPERATOR", "值班员").env_remove("BUSGATE_SERVER").env_remove("BUSGATE_DATA");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("busgate runs")
    }

    fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(out.status.success(), "busgate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    async fn get(&self, url: &str) -> Value {
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: {text}"))
    }

    async fn top_calls(&self) -> Vec<Value> {
        self.get(&self.env["BUSGATE_FAKE_TOP_URL"]).await.as_array().unwrap().clone()
    }

    async fn fenbeitong_calls(&self) -> Vec<Value> {
        self.get(&self.env["BUSGATE_FAKE_FENBEITONG_URL"]).await.as_array().unwrap().clone()
    }

    async fn denials(&self) -> Vec<Value> {
        self.get(&format!("{}/denials", self.env["BUSGATE_STACK_CONTROL_URL"])).await.as_array().unwrap().clone()
    }

    async fn functions(&self) -> Value {
        self.get(&format!("{}/functions", self.env["BUSGATE_STACK_CONTROL_URL"])).await
    }

    /// Queues answers of the fake TOP for calls of `method`: (HTTP status, body, delay ms).
    async fn script(&self, method: &str, answers: &[(u16, &str, u64)]) {
        let list: Vec<Value> = answers.iter().map(|(s, b, d)| json!({"method": method, "status": s, "body": b, "delay_ms": d})).collect();
        let r = reqwest::Client::new()
            .post(format!("{}/script", self.env["BUSGATE_FAKE_TOP_URL"]))
            .body(Value::from(list).to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Calls of `method` the fake TOP accepted.
    async fn delivered(&self, method: &str) -> Vec<Value> {
        self.top_calls()
            .await
            .into_iter()
            .filter(|c| c["method"] == method && c["answer"].as_str().unwrap_or("").contains("\"is_success\": true"))
            .collect()
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(self.dir.0.join("logs")).unwrap() {
            all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
        }
        all
    }

    async fn dlq_depth(&self) -> i64 {
        // The emulator with its admin credentials, never the default provider chain.
        let sqs = aws_sdk_sqs::Client::new(&busgate_adapters::aws::emulator_config(&self.env["AWS_ENDPOINT_URL_SQS"]).await);
        let a = sqs
            .get_queue_attributes()
            .queue_url(&self.env["BUSGATE_DLQ_URL"])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        a.attributes().unwrap().values().map(|v| v.parse::<i64>().unwrap()).sum()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the stack saw: its own log and the end of every function's log.
            let logs = self.dir.0.join("logs");
            if let Ok(entries) = std::fs::read_dir(&logs) {
                for e in entries.flatten() {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = lines[lines.len().saturating_sub(8)..].join("\n");
                    eprintln!("---- {} (last lines)\n{tail}", e.file_name().to_string_lossy());
                }
            }
        }
        let _ = Command::new("bash").arg(repo_file("infra/stack.sh")).arg("down").arg("--state-dir").arg(&self.dir.0).output();
    }
}

fn options(stack: &Stack) -> SimOptions {
    SimOptions {
        base_url: stack.base().to_string(),
        qimen_secret: DEMO_QIMEN_SECRET.into(),
        fenbeitong_token: Some(DEMO_FENBEITONG_TOKEN.into()),
        wait_for_async: Duration::from_secs(30),
        strict: true,
        ..SimOptions::default()
    }
}

/// Books and issues one ticket on the stack; returns the Fliggy order id.
async fn issued_order(stack: &Stack, order_id: &str) -> String {
    let (_, lines) = call_bus(stack.base(), Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", chrono::Utc::now()).expect("a demo departure on the stack");
    let (_, created) =
        call_bus(stack.base(), Route::Bus(BusRoute::OrdersCreate), &busgate_cli::sim::order_body(&target, order_id, 1), DEMO_QIMEN_SECRET).await;
    assert_eq!(created["retCode"], "0", "{created}");
    let (_, confirmed) = call_bus(stack.base(), Route::Bus(BusRoute::OrdersConfirm), &json!({"alitripOrderId": order_id}), DEMO_QIMEN_SECRET).await;
    assert_eq!(confirmed["status"], "3", "{confirmed}");
    order_id.to_string()
}

const MULTI: &str = "taobao.bus.agent.multiple.refund.confirm";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_passes_on_the_stack_and_partner_replies_reach_the_fake_gateways() {
    let stack = Stack::up(&[]);
    let report = run(options(&stack)).await;
    print!("{}", report.table());
    assert!(report.passed(), "{}", report.table());
    assert_eq!((report.count(Outcome::Failed), report.count(Outcome::Skipped)), (0, 0));

    // The operator approves the simulator's Fenbeitong notice: the decision reaches Fenbeitong,
    // signed with the sign key and carrying the access token from SSM (BUSGATE_FENBEITONG_URL
    // and _ACCESS_TOKEN come from the template).
    let pending = stack.cli_json(&["notices", "list", "--pending"]);
    let id = pending["notices"][0]["apply_id"].as_str().expect("the simulator's notice is pending").to_string();
    stack.cli_json(&["notices", "approve", &id, "--comment", "同意"]);
    let decision = wait_for(Duration::from_secs(30), "the decision at the fake Fenbeitong", || async {
        stack.fenbeitong_calls().await.into_iter().find(|c| c["params"]["data"].as_str().unwrap_or("").contains(&id))
    })
    .await;
    assert_eq!(decision["signature_ok"], true, "{decision}");

    // A collaboration case opened by the operator goes out with caller_info.app_name set.
    stack.cli_json(&["cases", "open", "--order", "960000000001", "--note", "请协助核实"]);
    let relation = wait_for(Duration::from_secs(30), "the relation call at the fake TOP", || async {
        stack.top_calls().await.into_iter().find(|c| c["method"] == "alitrip.serve.workorder.relation")
    })
    .await;
    assert_eq!(relation["signature_ok"], true);
    let caller: Value = serde_json::from_str(relation["params"]["caller_info"].as_str().unwrap()).unwrap();
    assert_eq!(caller["app_name"], "busgate-offline", "{relation}");
    assert!(stack.denials().await.is_empty(), "{:?}", stack.denials().await);
    // Every function ran under its template's memory size and timeout.
    let fns = stack.functions().await;
    assert_eq!(fns["outbox-worker"]["timeout"], 30);
    assert_eq!(fns["seats"]["memory_mb"], 256);
    for (name, f) in fns.as_object().unwrap() {
        assert!(f["init_error"].is_null(), "{name}: {}", f["init_error"]);
        assert!(f["max_rss_kb"].as_i64().unwrap() < 256 * 1024, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_issue_and_refund_callbacks_go_out_through_the_worker() {
    let stack = Stack::up(&["--issue-mode", "async", "--refund-mode", "async"]);
    let report = run(options(&stack)).await;
    assert!(report.passed(), "{}", report.table());
    for method in ["taobao.bus.agent.bookticket.confirm", "taobao.bus.agent.refund.confirm"] {
        let call = wait_for(Duration::from_secs(30), method, || async { stack.delivered(method).await.into_iter().next() }).await;
        assert_eq!(call["signature_ok"], true);
    }
    // The automatic jobs run in the worker, which hands their callbacks to the outbox queue:
    // allowed by its policy (it was not: AccessDenied, and Fliggy heard late).
    assert!(stack.denials().await.is_empty(), "{:?}", stack.denials().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_missing_from_the_template_is_denied() {
    // The template as it was: the worker may send only to the dead-letter queue.
    let dir = TempDir::new();
    let template = std::fs::read_to_string(repo_file("template.yaml")).unwrap();
    let lines: Vec<&str> = template.lines().collect();
    let at: Vec<usize> = (3..lines.len())
        .filter(|&i| {
            lines[i - 3].trim() == "Action: sqs:SendMessage"
                && lines[i - 2].trim() == "Resource:"
                && lines[i - 1].trim() == "- !GetAtt OutboxQueue.Arn"
                && lines[i].trim() == "- !GetAtt OutboxDlq.Arn"
        })
        .collect();
    assert_eq!(at.len(), 1, "the worker's SendMessage statement");
    let narrowed: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != at[0] - 1).map(|(_, l)| *l).collect();
    let narrowed = narrowed.join("\n") + "\n";
    let path = dir.0.join("template.yaml");
    std::fs::write(&path, narrowed).unwrap();
    let stack = Stack::up(&["--template", path.to_str().unwrap(), "--issue-mode", "async"]);
    let body = busgate_cli::sim::order_body(
        &busgate_cli::sim::pick(
            &call_bus(stack.base(), Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await.1,
            "上海市",
            "",
            chrono::Utc::now(),
        )
        .unwrap(),
        "960000000002",
        1,
    );
    call_bus(stack.base(), Route::Bus(BusRoute::OrdersCreate), &body, DEMO_QIMEN_SECRET).await;
    let (_, confirmed) =
        call_bus(stack.base(), Route::Bus(BusRoute::OrdersConfirm), &json!({"alitripOrderId": "960000000002"}), DEMO_QIMEN_SECRET).await;
    assert_eq!(confirmed["status"], "2");
    let denial = wait_for(Duration::from_secs(30), "an AccessDenied", || async { stack.denials().await.into_iter().next() }).await;
    assert_eq!((denial["function"].as_str(), denial["action"].as_str()), (Some("outbox-worker"), Some("sqs:SendMessage")), "{denial}");
    assert!(denial["resource"].as_str().unwrap().contains("OutboxQueue"), "{denial}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_failed_three_times_is_delivered_once_through_sqs_retries() {
    let stack = Stack::up(&[]);
    let order = issued_order(&stack, "960000000003").await;
    let isp = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.system-busy"}}"#;
    stack.script(MULTI, &[(502, "", 0), (200, isp, 0), (503, "", 0)]).await;
    let out = stack.cli_json(&["refund", "money", &order, "--amount", "100", "--reason", "延误补偿"]);
    let id = out["callback_ids"][0].as_str().unwrap().to_string();
    let delivered = wait_for(Duration::from_secs(60), "delivery after three failures", || async {
        let d = stack.delivered(MULTI).await;
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(delivered.len(), 1);
    let attempts: Vec<Value> = stack.top_calls().await.into_iter().filter(|c| c["method"] == MULTI).collect();
    assert_eq!(attempts.len(), 4, "three failures, then accepted");
    let record = stack.cli_json(&["outbox", "list", "--delivered"]);
    let cb = record["callbacks"].as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).expect("delivered").clone();
    assert_eq!(cb["attempts"], 4);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stack.delivered(MULTI).await.len(), 1, "never sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_callback_replayed_is_delivered_and_the_dead_letter_queue_is_empty_again() {
    let stack = Stack::up(&[]);
    let order = issued_order(&stack, "960000000004").await;
    let isv = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.permission-denied","sub_msg":"权限包未开通"}}"#;
    stack.script(MULTI, &[(200, isv, 0)]).await;
    stack.cli_json(&["refund", "money", &order, "--amount", "100", "--reason", "延误补偿"]);
    let dead = wait_for(Duration::from_secs(30), "the callback dead", || async {
        let v = stack.cli_json(&["outbox", "list", "--dead"]);
        v["callbacks"].as_array().and_then(|a| a.first().cloned())
    })
    .await;
    assert!(dead["last_error"].as_str().unwrap().contains("isv.permission-denied"), "{dead}");
    wait_for(Duration::from_secs(10), "the message in the DLQ", || async { (stack.dlq_depth().await == 1).then_some(()) }).await;
    // The permission package granted: replay.
    let replayed = stack.cli_json(&["outbox", "replay", "--all-dead"]);
    assert_eq!(replayed["replayed"].as_array().unwrap().len(), 1, "{replayed}");
    assert_eq!(replayed["dead_letters_removed"], 1, "{replayed}");
    wait_for(Duration::from_secs(30), "delivery after the replay", || async { stack.delivered(MULTI).await.into_iter().next() }).await;
    assert_eq!(stack.dlq_depth().await, 0, "the DLQ (and its alarm) is clear again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing_and_pays_once() {
    let stack = Stack::up(&[]);
    let order = issued_order(&stack, "960000000005").await;
    // The next call hangs 20 s: the worker is killed while it waits.
    stack.script(MULTI, &[(200, r#"{"multiple_refund_confirm_response":{"is_success":true}}"#, 20_000)]).await;
    let out = stack.cli_json(&["refund", "money", &order, "--amount", "100", "--reason", "延误补偿"]);
    let id = out["callback_ids"][0].as_str().unwrap().to_string();
    wait_for(Duration::from_secs(30), "the worker's call", || async {
        stack.top_calls().await.into_iter().find(|c| c["method"] == MULTI).map(|_| ())
    })
    .await;
    let killed = reqwest::Client::new().post(format!("{}/kill/outbox-worker", stack.env["BUSGATE_STACK_CONTROL_URL"])).send().await.unwrap();
    assert_eq!(killed.status(), 200);
    // The message comes back after the queue's visibility timeout (the template's 180 s) and a
    // new worker delivers it; the callback record says delivered once.
    let record = wait_for(Duration::from_secs(240), "delivery after the crash", || async {
        let v = stack.cli_json(&["outbox", "list", "--delivered"]);
        v["callbacks"].as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).cloned()
    })
    .await;
    assert_eq!(record["status"], "delivered");
    let fns = stack.functions().await;
    assert!(fns["outbox-worker"]["cold_starts"].as_i64().unwrap() >= 2, "{}", fns["outbox-worker"]);
    // One serial: Fliggy's idempotency key, the same on both attempts.
    let serials: std::collections::BTreeSet<String> = stack
        .top_calls()
        .await
        .into_iter()
        .filter(|c| c["method"] == MULTI)
        .map(|c| {
            serde_json::from_str::<Value>(c["params"]["param_agent_multiple_refund_r_q"].as_str().unwrap()).unwrap()["agent_refund_trans_no"]
                .to_string()
        })
        .collect();
    assert_eq!(serials.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_secrets_extension_does_not_fail_a_cold_start() {
    let stack = Stack::up(&["--extension-delay-ms", "500", "--no-demo"]);
    let (status, v) = call_bus(stack.base(), Route::Bus(BusRoute::FromCities), &json!({}), DEMO_QIMEN_SECRET).await;
    assert_eq!((status, v["retCode"].as_str()), (200, Some("0")), "{v}");
    let f = &stack.functions().await["from-cities"];
    assert_eq!((f["cold_starts"].as_i64(), f["errors"].as_i64()), (Some(1), Some(0)), "{f}");
    assert!(stack.logs().contains("parameter read after retries"), "the first tries met a closed port");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_parameter_fails_init_naming_it_and_never_a_secret() {
    let stack = Stack::up(&["--without-parameter", "qimen-app-secret", "--no-demo"]);
    let (status, _) = call_bus(stack.base(), Route::Bus(BusRoute::FromCities), &json!({}), DEMO_QIMEN_SECRET).await;
    assert_eq!(status, 500);
    let f = &stack.functions().await["from-cities"];
    let init = f["init_error"].as_str().unwrap_or_default();
    assert!(init.contains("init failed") && init.contains("/qimen-app-secret") && init.contains("not found"), "{f}");
    // The parameters that do exist: no value of any of them is in any log.
    let logs = stack.logs();
    for secret in ["busgate-demo-top-secret", "demo-session", "demo-fenbeitong-token-0001", "demo-sign-key", "demo-access-token"] {
        assert!(!logs.contains(secret), "a secret value in the logs");
    }
    // A function whose parameters exist starts.
    let (status, _) = call_bus(stack.base(), Route::Bus(BusRoute::RefundsFee), &json!({"alitripOrderId": "1"}), DEMO_QIMEN_SECRET).await;
    assert_eq!(status, 500, "every Qimen route reads the same missing parameter");
    let r = reqwest::Client::new()
        .post(format!("{}/fenbeitong/notify/{DEMO_FENBEITONG_TOKEN}", stack.base()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "fenbeitong-notify starts (its tokens exist) and refuses the empty notice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_given_no_qimen_secret_at_all_fails_init_naming_the_variable() {
    // A template whose functions get neither BUSGATE_QIMEN_SECRET nor its _PARAM: they used to
    // start with an empty secret.
    let dir = TempDir::new();
    let template = std::fs::read_to_string(repo_file("template.yaml")).unwrap();
    let without: String = template.lines().filter(|l| !l.trim_start().starts_with("BUSGATE_QIMEN_SECRET_PARAM:")).map(|l| format!("{l}\n")).collect();
    assert!(without.len() < template.len());
    let path = dir.0.join("template.yaml");
    std::fs::write(&path, without).unwrap();
    let stack = Stack::up(&["--template", path.to_str().unwrap(), "--no-demo"]);
    let (status, _) = call_bus(stack.base(), Route::Bus(BusRoute::Seats), &json!({}), DEMO_QIMEN_SECRET).await;
    assert_eq!(status, 500);
    let f = &stack.functions().await["seats"];
    let init = f["init_error"].as_str().unwrap_or_default();
    assert!(init.contains("BUSGATE_QIMEN_SECRET") && init.contains("required"), "{f}");
}

/// The console as it ships: its pages only for a signed-in operator (the HTTP API's JWT
/// authorizer over the stack's Cognito user pool), the sign-in page and its assets open; in
/// Chromium the operator signs in, finds an order and stops a departure, and the console acts
/// under the operator's name from the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_on_the_stack_is_for_signed_in_operators_only() {
    let stack = Stack::up(&[]);
    let base = stack.base().to_string();
    for key in ["BUSGATE_CONSOLE_URL", "BUSGATE_CONSOLE_USER", "BUSGATE_CONSOLE_PASSWORD"] {
        assert!(stack.env.get(key).is_some_and(|v| !v.is_empty()), "`up` did not print {key}");
    }
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/console", "/console/orders", "/console/work", "/console/orders/BG26120200000001"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let r = http.get(format!("{base}{path}")).header("authorization", "Bearer not.a.token").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} with a forged token");
    }
    let post = http.post(format!("{base}/console/callbacks/replay")).body("all=1").send().await.unwrap();
    assert_eq!(post.status(), 401, "an action without a token");
    for path in ["/console/sign-in", "/console/assets/console.js", "/console/assets/console.css"] {
        assert_eq!(http.get(format!("{base}{path}")).send().await.unwrap().status(), 200, "{path} is open");
    }

    // Fliggy sells a ticket; the operator finds it in Chromium.
    let order_id = issued_order(&stack, "975000000001").await;
    let (_, lines) = call_bus(&base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", chrono::Utc::now()).expect("a demo departure");
    let Some(driver) = busgate_tests::browser::chromedriver() else { return };
    let c = busgate_tests::browser::browser(&driver).await;
    use fantoccini::Locator;
    let wait_for_text = |css: &'static str, text: String| {
        let c = c.clone();
        async move {
            wait_for(Duration::from_secs(30), &format!("{css} showing {text}"), || async {
                match c.find(Locator::Css(css)).await {
                    Ok(el) => el.text().await.ok().filter(|t| t.contains(&text)),
                    Err(_) => None,
                }
            })
            .await
        }
    };
    c.goto(&stack.env["BUSGATE_CONSOLE_URL"]).await.unwrap();
    c.find(Locator::Css("input[name=username]")).await.unwrap().send_keys(&stack.env["BUSGATE_CONSOLE_USER"]).await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(&stack.env["BUSGATE_CONSOLE_PASSWORD"]).await.unwrap();
    c.find(Locator::Css("#sign-in button")).await.unwrap().click().await.unwrap();
    wait_for_text(".operator", stack.env["BUSGATE_CONSOLE_USER"].clone()).await;
    c.find(Locator::Css("header nav a[href='/console/orders']")).await.unwrap().click().await.unwrap();
    wait_for_text("main h1", "订单".into()).await;
    c.find(Locator::Css("form.search input[name=q]")).await.unwrap().send_keys(&order_id).await.unwrap();
    c.find(Locator::Css("form.search button")).await.unwrap().click().await.unwrap();
    // console.js loads the results with the token and puts their address in the location bar.
    wait_for(Duration::from_secs(30), "the search's address", || async { c.current_url().await.ok().filter(|u| u.as_str().contains(&order_id)) })
        .await;
    wait_for_text("#found-count", "1".into()).await;
    c.find(Locator::Css("#orders tbody a")).await.unwrap().click().await.unwrap();
    wait_for_text("#alitrip-order-id", order_id.clone()).await;
    let html = c.source().await.unwrap();
    assert!(!html.contains(&stack.env["BUSGATE_CONSOLE_PASSWORD"]) && !html.contains("eyJ"), "no password or token in a page");

    // Stop the departure from the Today page (a form POST, with the token and the CSRF cookie).
    c.find(Locator::Css("header nav a[href='/console/today']")).await.unwrap().click().await.unwrap();
    wait_for_text("main h1", "今日班次".into()).await;
    let row = format!("tr[data-schedule='{}']", target.schedule_id());
    let reason =
        wait_for(Duration::from_secs(30), "the departure row", || async { c.find(Locator::Css(&format!("{row} input[name=reason]"))).await.ok() })
            .await;
    reason.send_keys("司机生病").await.unwrap();
    c.execute("window.confirm = () => true; return null;", vec![]).await.unwrap();
    c.find(Locator::Css(&format!("{row} button[value=stop]"))).await.unwrap().click().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let flash = match c.find(Locator::Css(".flash")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if flash.contains("stopped") {
            break;
        }
        let console: Vec<String> = stack.logs().lines().filter(|l| l.contains("console")).map(str::to_string).collect();
        assert!(std::time::Instant::now() < deadline, "the stop's outcome is not shown ({flash:?}); console log:\n{}", console.join("\n"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, seats) = call_bus(&base, Route::Bus(BusRoute::Seats), &target.seats_body(), DEMO_QIMEN_SECRET).await;
    assert_eq!(seats["saleStatus"], json!(0), "{seats}");
    let _ = c.clone().close().await;
    assert!(stack.logs().contains("console: done"), "the action is logged");
    assert!(stack.logs().contains(&stack.env["BUSGATE_CONSOLE_USER"]), "with the operator's name");
    assert!(stack.denials().await.is_empty(), "{:?}", stack.denials().await);
}
