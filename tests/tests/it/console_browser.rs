//! The operator console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) drives local mode's `/console/` the way a dispatcher would, and every
//! action is checked where it lands: the store, the bus interface, the fake TOP and the fake
//! Fenbeitong. Screenshots of every page go to `target/console-screenshots/`.
//!
//! `BUSGATE_TEST_BROWSER=1` (set by `infra/test.sh`, which installs Chromium) makes a missing
//! browser a failure; without it the test says it was skipped when no chromedriver is on PATH.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use busgate_cli::local::{Running, DEMO_FENBEITONG_TOKEN, DEMO_QIMEN_SECRET};
use busgate_edge::{BusRoute, Route};
use busgate_tests::browser::{browser, chromedriver};
use busgate_tests::{call_bus, post_bytes, repo_file, signed_query, start_local, JSON};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// Every value the console must never print.
fn secrets() -> Vec<&'static str> {
    vec![
        DEMO_QIMEN_SECRET,
        busgate_cli::local::DEMO_TOP_SECRET,
        DEMO_FENBEITONG_TOKEN,
        "demo-session",
        "demo-relation-secret",
        "demo-sign-key",
        "demo-access-token",
    ]
}

struct Console {
    c: Client,
    base: String,
    shots: PathBuf,
    shot_no: usize,
    /// Full ID numbers of the passengers sold so far.
    id_numbers: Vec<String>,
}

impl Console {
    async fn open(&mut self, path: &str) -> String {
        // A fragment-only change would not reload the page: always load it afresh.
        let path = path.split('#').next().unwrap_or(path);
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.page_checks(path).await
    }

    /// What every page must hold to: no secret, no full ID number.
    async fn page_checks(&mut self, what: &str) -> String {
        let html = self.c.source().await.expect("page source");
        for s in secrets() {
            assert!(!html.contains(s), "{what} shows a secret");
        }
        for id in &self.id_numbers {
            assert!(!html.contains(id.as_str()), "{what} shows a full ID number");
        }
        html
    }

    async fn shot(&mut self, name: &str) {
        self.shot_no += 1;
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.shot_no)), png).expect("screenshot written");
    }

    /// Clicks a submit button and waits for the page it leads to (the console answers every
    /// action with a redirect to a page that shows the outcome).
    async fn submit(&mut self, css: &str) -> String {
        self.c.execute("window.confirm = () => true; window.__busgate_old = true; return null;", vec![]).await.expect("script");
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).click().await.expect("click");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let fresh = self.c.execute("return window.__busgate_old === undefined && document.readyState === 'complete';", vec![]).await;
            if fresh.ok() == Some(Value::Bool(true)) {
                break;
            }
            assert!(Instant::now() < deadline, "no new page after clicking {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.page_checks(css).await
    }

    async fn fill(&self, css: &str, text: &str) {
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).send_keys(text).await.expect("typing");
    }

    async fn flash(&self) -> (bool, String) {
        let el = self.c.find(Locator::Css(".flash")).await.expect("the outcome is shown");
        let class = el.attr("class").await.unwrap().unwrap_or_default();
        (class.contains("ok"), el.text().await.unwrap())
    }

    async fn text(&self, css: &str) -> String {
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).text().await.unwrap()
    }
}

async fn wait_for_call(local: &Running, what: &str, matches: impl Fn(&busgate_cli::local::RecordedCall) -> bool) -> busgate_cli::local::RecordedCall {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(c) = local.fake_top.calls().into_iter().find(|c| matches(c)) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never reached the fake partner: {:?}",
            local.fake_top.calls().iter().map(|c| &c.method).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const BOOK_CONFIRM: &str = "taobao.bus.agent.bookticket.confirm";
const REFUND_CONFIRM: &str = "taobao.bus.agent.refund.confirm";
const ISV: &str = r#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.invalid-parameter"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_works_the_back_office_in_chromium() {
    let Some(driver) = chromedriver() else { return };
    let (local, _dir) = start_local(&[
        ("BUSGATE_ISSUE_MODE", "async"),
        ("BUSGATE_AUTO_ISSUE", "false"),
        ("BUSGATE_REFUND_MODE", "async"),
        ("BUSGATE_AUTO_REFUND", "false"),
        ("BUSGATE_CALLBACK_BACKOFF_BASE_SECS", "0"),
        ("BUSGATE_OPERATOR", "调度员小王"),
    ])
    .await;
    let base = local.base_url();
    let shots = repo_file("target/console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut ui = Console { c: browser(&driver).await, base: base.clone(), shots, shot_no: 0, id_numbers: Vec::new() };

    // Fliggy sells a ticket through the bus interface; in async issue mode it waits for us.
    let order_id = "970000000001";
    let (_, lines) = call_bus(&base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", local.app.clock.now()).expect("a sellable demo departure");
    assert!(target.refundable(), "the demo always has a departure refundable now");
    let (_, created) =
        call_bus(&base, Route::Bus(BusRoute::OrdersCreate), &busgate_cli::sim::order_body(&target, order_id, 1), DEMO_QIMEN_SECRET).await;
    assert_eq!(created["retCode"], "0", "{created}");
    let agent = created["agentOrderId"].as_str().unwrap().to_string();
    let (_, confirmed) = call_bus(&base, Route::Bus(BusRoute::OrdersConfirm), &json!({"alitripOrderId": order_id}), DEMO_QIMEN_SECRET).await;
    assert_eq!(confirmed["status"], "2", "{confirmed}");
    let order = busgate_domain::orders::get_order(local.app.store.as_ref(), order_id).await.unwrap().unwrap();
    ui.id_numbers = order.passengers.iter().map(|p| p.cert_no.clone()).collect();
    assert!(ui.id_numbers.iter().all(|n| n.len() >= 15), "the demo order carries real-looking ID numbers");

    // Home: the work waiting, counted.
    ui.open("/console/").await;
    assert_eq!(ui.text("#count-issues").await, "1");
    ui.shot("home").await;

    // Issue the tickets from the work list; Fliggy refuses the first bookticket.confirm for
    // good, so the callback goes dead.
    local.fake_top.push_answers_for(BOOK_CONFIRM, [(200, ISV.to_string())]);
    ui.open("/console/work").await;
    ui.shot("work").await;
    ui.submit(&format!("tr[data-order='{order_id}'] form:nth-of-type(1) button")).await;
    let (ok, msg) = ui.flash().await;
    assert!(ok && msg.contains("issued"), "{msg}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dead =
            local.app.store.query_index(busgate_domain::outbox::Callback::index_pk(busgate_domain::outbox::CallbackStatus::Dead), "").await.unwrap();
        if !dead.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the refused bookticket.confirm never went dead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Replay the dead callback: Fliggy now takes it.
    ui.open("/console/work#dead").await;
    ui.submit("#dead tr[data-callback] button").await;
    let (ok, msg) = ui.flash().await;
    assert!(ok && msg.contains("replayed 1 callback"), "{msg}");
    wait_for_call(&local, "the replayed bookticket.confirm", |c| c.method == BOOK_CONFIRM && c.answer.contains("is_success")).await;

    // Find the order by its Fliggy id; its detail page masks the ID number until revealed.
    ui.open("/console/orders").await;
    ui.fill("input[name=q]", order_id).await;
    ui.submit("form.search button").await;
    assert_eq!(ui.text("#found-count").await, "1");
    ui.shot("orders").await;
    ui.submit(&format!("#orders a[href='/console/orders/{agent}']")).await;
    assert_eq!(ui.text("#alitrip-order-id").await, order_id);
    assert!(ui.text("#order-status").await.contains("出票成功"));
    let masked = ui.text("#passengers tbody td:nth-child(2)").await;
    let full = ui.id_numbers[0].clone();
    assert!(masked.starts_with(&format!("{}********{}", &full[..6], &full[full.len() - 4..])), "{masked}");
    let callbacks = ui.text("#callbacks").await;
    assert!(callbacks.contains(BOOK_CONFIRM) && callbacks.contains("已送达"), "{callbacks}");
    ui.shot("order-detail").await;
    // The explicit reveal shows it (and is logged); it is the only page allowed to.
    ui.id_numbers.clear();
    ui.submit("#passengers form button").await;
    assert_eq!(ui.text("#passengers .revealed").await, full);
    ui.id_numbers.push(full.clone());

    // Fliggy asks for a refund; async mode leaves it to us; we approve it in the console.
    let (_, fee) = call_bus(&base, Route::Bus(BusRoute::RefundsFee), &json!({"alitripOrderId": order_id}), DEMO_QIMEN_SECRET).await;
    let apply = json!({"alitripOrderId": order_id, "agentOrderId": agent,
                       "passengerList": [{"ticketId": format!("{agent}-1"), "refundSurcharge": fee["passengerList"][0]["refundSurcharge"]}]});
    let (_, applied) = call_bus(&base, Route::Bus(BusRoute::RefundsApply), &apply, DEMO_QIMEN_SECRET).await;
    assert_eq!(applied["status"], "9", "{applied}");
    let refund_id = applied["refundId"].as_str().unwrap().to_string();
    ui.open("/console/work#refunds").await;
    ui.submit(&format!("tr[data-refund='{refund_id}'] form:nth-of-type(1) button")).await;
    let (ok, msg) = ui.flash().await;
    assert!(ok && msg.contains("approved"), "{msg}");
    wait_for_call(&local, "refund.confirm", |c| c.method == REFUND_CONFIRM && c.answer.contains("is_success")).await;

    // Fliggy's customer service opens a case; we reply to it.
    let case = json!({"case_id": "8800001", "relation_type": "startRelation", "operator": "飞猪小二", "order_id": order_id,
                      "attributes": "{\"content\":\"乘客询问退款进度\"}"});
    let bytes = serde_json::to_vec(&case).unwrap();
    let q = signed_query("alitrip.serve.workorder.relation.notify", &bytes, DEMO_QIMEN_SECRET, &busgate_tests::now_timestamp());
    let a = post_bytes(&format!("{base}/fliggy/relation?{q}"), Some(JSON), bytes).await;
    let relation_case_id = a.json()["relation_case_id"].as_str().expect("case accepted").to_string();
    ui.open("/console/work#cases").await;
    ui.fill(&format!("tr[data-case='{relation_case_id}'] input[name=note]"), "已退款,请留意到账").await;
    ui.submit(&format!("tr[data-case='{relation_case_id}'] button")).await;
    let (ok, msg) = ui.flash().await;
    assert!(ok, "{msg}");
    let reply =
        wait_for_call(&local, "the case reply", |c| c.method.contains("workorder") && c.params.values().any(|v| v.contains("已退款,请留意到账")))
            .await;
    assert!(reply.params.values().any(|v| v.contains("调度员小王")), "the reply carries the operator's name: {:?}", reply.params);

    // Fenbeitong sends an approval notice; we approve it with a comment.
    let mut notice: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file("tests/fixtures/fenbeitong/train_rebook.json")).unwrap()).unwrap();
    notice["apply"]["id"] = json!("FBT-CONSOLE-1");
    let a = post_bytes(&format!("{base}/fenbeitong/notify/{DEMO_FENBEITONG_TOKEN}"), Some("application/json"), serde_json::to_vec(&notice).unwrap())
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    ui.open("/console/work#notices").await;
    ui.fill("tr[data-notice='FBT-CONSOLE-1'] input[name=comment]", "同意改签").await;
    ui.submit("tr[data-notice='FBT-CONSOLE-1'] button[value='1']").await;
    let (ok, msg) = ui.flash().await;
    assert!(ok, "{msg}");
    let approval = wait_for_call(&local, "the notice approval", |c| c.method.ends_with("notifyApplyAgree")).await;
    let data = approval.params.get("data").cloned().unwrap_or_default();
    assert!(data.contains("FBT-CONSOLE-1"), "the approval names the notice: {:?}", approval.params);
    let stored = busgate_domain::notices::list(local.app.store.as_ref(), false).await.unwrap();
    let decision = serde_json::to_string(&stored.iter().find(|n| n.apply_id == "FBT-CONSOLE-1").unwrap().decision).unwrap();
    assert!(decision.contains("同意改签") && decision.contains("调度员小王"), "the decision keeps the comment and the operator: {decision}");
    ui.open("/console/").await;
    for id in ["count-issues", "count-refunds", "count-notices", "count-dead"] {
        assert_eq!(ui.text(&format!("#{id}")).await, "0", "{id}: the work is done");
    }

    // Stop the departure: its seat query says it is no longer on sale.
    ui.open("/console/today").await;
    ui.shot("today").await;
    let row = format!("tr[data-schedule='{}']", target.schedule_id());
    ui.fill(&format!("{row} input[name=reason]"), "车辆故障").await;
    ui.submit(&format!("{row} button[value=stop]")).await;
    let (ok, msg) = ui.flash().await;
    assert!(ok && msg.contains("stopped"), "{msg}");
    assert!(ui.text(&row).await.contains("已停售"));
    let (_, seats) = call_bus(&base, Route::Bus(BusRoute::Seats), &target.seats_body(), DEMO_QIMEN_SECRET).await;
    assert_eq!(seats["saleStatus"], json!(0), "{seats}");
    ui.submit(&format!("{row} button[value=resume]")).await;
    let (_, seats) = call_bus(&base, Route::Bus(BusRoute::Seats), &target.seats_body(), DEMO_QIMEN_SECRET).await;
    assert_eq!(seats["saleStatus"], json!(1), "{seats}");

    // The catalogue: a file with a mistake is reported with its line; a good one is checked.
    let export = busgate_backoffice::execute(&local.app, busgate_backoffice::AdminCommand::CatalogueExport, &|_, _| {}).await.unwrap().text;
    let dir = tempfile_dir();
    let good = dir.join("catalogue.json");
    std::fs::write(&good, &export).unwrap();
    let bad = dir.join("broken.json");
    std::fs::write(&bad, export.replacen("\"seats\":", "\"seats\": -", 1)).unwrap();
    ui.open("/console/catalogue").await;
    ui.fill("input[type=file]", bad.to_str().unwrap()).await;
    ui.submit("form.upload button[value=dry_run]").await;
    let report = ui.text("#report").await;
    let line = export[..export.find("\"seats\":").unwrap()].matches('\n').count() + 1;
    assert!(report.contains(&format!("broken.json:{line}:")), "the report names line {line}: {report}");
    ui.open("/console/catalogue").await;
    ui.fill("input[type=file]", good.to_str().unwrap()).await;
    ui.submit("form.upload button[value=dry_run]").await;
    let report = ui.text("#report").await;
    assert!(!report.is_empty() && ui.c.find(Locator::Css("#report.ok")).await.is_ok(), "{report}");
    ui.shot("catalogue").await;
    // Apply what was checked (the page carries the file it checked).
    let html = ui.submit("form input[name=text] ~ button[value=apply]").await;
    assert!(html.contains("导入结果") && ui.c.find(Locator::Css("#report.ok")).await.is_ok(), "{}", ui.text("#report").await);

    ui.open("/console/health").await;
    ui.shot("health").await;

    // A phone-sized screen.
    ui.c.set_window_size(390, 844).await.unwrap();
    ui.open("/console/work").await;
    ui.shot("work-phone").await;
    ui.c.clone().close().await.unwrap();
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("busgate-console-{}", busgate_tests::unique("t")));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A state-changing request without the browser's CSRF token (what another site's form would
/// send) changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_actions_need_the_csrf_token_and_the_same_origin() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let (_, lines) = call_bus(&base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"}), DEMO_QIMEN_SECRET).await;
    let target = busgate_cli::sim::pick(&lines, "上海市", "", local.app.clock.now()).expect("a demo departure");
    let stop = format!("{base}/console/departures/{}/stop", target.schedule_id());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // A page sets the token cookie.
    let page = http.get(format!("{base}/console/today")).send().await.unwrap();
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let token = cookie.split_once('=').unwrap().1.to_string();
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let attempts = [
        ("no token", None, "reason=x".to_string()),
        ("cookie but no form token", Some(cookie.clone()), "reason=x".to_string()),
        ("wrong token", Some(cookie.clone()), format!("reason=x&csrf={}", "0".repeat(48))),
    ];
    for (what, cookie, body) in attempts {
        let mut req = http.post(&stop).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        assert_eq!(req.send().await.unwrap().status(), 403, "{what}");
    }
    // The right token from another origin is refused too.
    let cross = http
        .post(&stop)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .body(format!("reason=x&csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let (_, seats) = call_bus(&base, Route::Bus(BusRoute::Seats), &target.seats_body(), DEMO_QIMEN_SECRET).await;
    assert_eq!(seats["saleStatus"], json!(1), "nothing was stopped: {seats}");
    // The same request with the token, from the console's own page, goes through.
    let ok = http
        .post(&stop)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .header("origin", &base)
        .body(format!("reason=x&csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let (_, seats) = call_bus(&base, Route::Bus(BusRoute::Seats), &target.seats_body(), DEMO_QIMEN_SECRET).await;
    assert_eq!(seats["saleStatus"], json!(0), "{seats}");
}

/// Names come from Fliggy and Fenbeitong: they are printed as text, never as markup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_from_partners_are_escaped() {
    let (local, _dir) = start_local(&[]).await;
    let base = local.base_url();
    let mut notice: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file("tests/fixtures/fenbeitong/train_rebook.json")).unwrap()).unwrap();
    notice["apply"]["id"] = json!("FBT-XSS-1");
    notice["user"]["name"] = json!("<script>alert(1)</script>");
    let a = post_bytes(&format!("{base}/fenbeitong/notify/{DEMO_FENBEITONG_TOKEN}"), Some("application/json"), serde_json::to_vec(&notice).unwrap())
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let html = reqwest::get(format!("{base}/console/work")).await.unwrap().text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the name is shown, escaped");
    assert!(!html.contains("<script>alert(1)"));
}
