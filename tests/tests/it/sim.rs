//! The acceptance simulator passes against local mode with every check run, says which checks
//! it could not run (and why), signs with the method names the deployment was configured
//! with, and fails with a clear reason against a deployment configured with another secret.

use std::collections::HashMap;
use std::time::Duration;

use busgate_cli::local::{Running, DEMO_QIMEN_SECRET};
use busgate_cli::sim::{pick, run, Check, Outcome, Report, SimOptions};
use busgate_edge::{BusRoute, Route};
use busgate_tests::start_local;
use serde_json::json;

fn options(base_url: String, secret: &str) -> SimOptions {
    SimOptions { base_url, qimen_secret: secret.to_string(), wait_for_async: Duration::from_secs(10), strict: true, ..SimOptions::default() }
}

fn check<'a>(report: &'a Report, name: &str) -> &'a Check {
    report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{name} was not reported:\n{}", report.table()))
}

async fn delivered(local: &Running, method: &str) -> busgate_cli::local::RecordedCall {
    busgate_tests::wait_for(Duration::from_secs(10), method, || async { local.fake_top.delivered(method).into_iter().next() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_runs_every_check_against_local_mode_and_finds_the_demo_token_itself() {
    let (local, _dir) = start_local(&[]).await;
    // No --fenbeitong-token: against local mode the simulator tries the demo token.
    let report = run(options(local.base_url(), DEMO_QIMEN_SECRET)).await;
    print!("{}", report.table());
    assert!(report.passed(), "{}", report.table());
    assert_eq!((report.count(Outcome::Failed), report.count(Outcome::Skipped)), (0, 0), "{}", report.table());
    assert!(report.table().ends_with(&format!("{} passed, 0 failed, 0 skipped\n", report.checks.len())), "{}", report.table());
    for name in [
        "order: create locks a seat",
        "order: confirm issues tickets",
        "refund: apply",
        "order: close gives the seat back",
        "refusal: not enough seats",
        "collaboration: case opened and ended",
        "fenbeitong: notice stored once",
    ] {
        assert!(check(&report, name).passed(), "{name}: {}", report.table());
    }
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_cannot_run_is_a_skip_with_its_reason_and_strict_makes_it_a_failure() {
    // Local mode with its own Fenbeitong token: the demo token is refused, and the simulator
    // was given none.
    let (local, _dir) = start_local(&[("BUSGATE_FENBEITONG_TOKENS", "acme=acme-token-0123456789abcdef")]).await;
    let report = run(options(local.base_url(), DEMO_QIMEN_SECRET)).await;
    let fbt = check(&report, "fenbeitong: notice stored once");
    assert_eq!(fbt.outcome, Outcome::Skipped);
    assert!(fbt.detail.contains("--fenbeitong-token"), "{}", fbt.detail);
    assert_eq!(report.count(Outcome::Failed), 0, "{}", report.table());
    assert!(!report.passed(), "strict: a skip fails the run");
    assert!(report.table().contains("SKIP fenbeitong: notice stored once"));
    assert!(report.table().contains(&format!("{} passed, 0 failed, 1 skipped\n", report.checks.len() - 1)));
    // Without --strict the same run passes, and still says what it skipped.
    let lenient = Report { strict: false, ..report.clone() };
    assert!(lenient.passed());
    // With the token, nothing is skipped.
    let given = SimOptions { fenbeitong_token: Some("acme-token-0123456789abcdef".into()), ..options(local.base_url(), DEMO_QIMEN_SECRET) };
    let report = run(given).await;
    assert!(report.passed(), "{}", report.table());
    local.stop();
}

#[test]
fn the_simulator_prefers_a_departure_it_can_refund_and_says_when_there_is_none() {
    // Two departures: 08:00 (inside the 3-hour no-refund tier at 06:00) and 20:00 the same day.
    let tiers = json!([{"minHours":0,"maxHours":3,"refundable":false},{"minHours":3,"refundable":true,"feePercent":10}]);
    let departure = |id: &str, time: &str| {
        json!({"scheduleId": id, "leftTicketCnt": 10, "refundRules": tiers,
               "line": {"id": "L1", "fromDate": "2026-12-02", "fromTime": time},
               "stations": [{"stationCode": "A", "stationType": 1}, {"stationCode": "B", "stationType": 1}],
               "segmentPrices": [{"fromStationCode": "A", "toStationCode": "B", "price": 1000}]})
    };
    let lines = json!({"lineSchedule": [departure("EARLY", "08:00"), departure("LATE", "20:00")]});
    let at = |hh_mm: &str| {
        chrono::NaiveDateTime::parse_from_str(&format!("2026-12-02 {hh_mm}:00"), "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_local_timezone(busgate_domain::gmt8())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // 00:30: both refundable; the first listed is taken.
    assert_eq!(pick(&lines, "a", "b", at("00:30")).unwrap().schedule_id(), "EARLY");
    // 06:00: EARLY is inside its no-refund tier; LATE is taken.
    assert_eq!(pick(&lines, "a", "b", at("06:00")).unwrap().schedule_id(), "LATE");
    // 16:50: LATE is refundable now but not for the run's next half hour; nothing refundable,
    // so the first sellable one comes back (and the refund checks will be skipped).
    assert_eq!(pick(&lines, "a", "b", at("16:50")).unwrap().schedule_id(), "EARLY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_signs_with_the_configured_method_names() {
    let custom = "qimen.alitrip.custombus.product.seat.query.v2";
    let (local, _dir) = start_local(&[("BUSGATE_METHOD_SEATS", custom)]).await;
    // Signed with the documented default: the deployment refuses it, naming both methods.
    let report = run(options(local.base_url(), DEMO_QIMEN_SECRET)).await;
    let seats = check(&report, "seats: live count and price");
    assert_eq!(seats.outcome, Outcome::Failed);
    assert!(seats.detail.contains(&format!("expected {custom}, got qimen.alitrip.custombus.product.seat.query")), "{}", seats.detail);
    // With the same BUSGATE_METHOD_SEATS as the deployment, every check passes.
    let env: HashMap<String, String> = [("BUSGATE_METHOD_SEATS".to_string(), custom.to_string())].into();
    let methods = SimOptions::methods_from_env(&|k| env.get(k).cloned());
    assert_eq!(methods.get(&Route::Bus(BusRoute::Seats)).map(String::as_str), Some(custom));
    let report = run(SimOptions { methods, ..options(local.base_url(), DEMO_QIMEN_SECRET) }).await;
    assert!(report.passed(), "{}", report.table());
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_passes_when_issue_is_asynchronous_and_the_callback_reaches_fliggy() {
    let (local, _dir) = start_local(&[("BUSGATE_ISSUE_MODE", "async"), ("BUSGATE_AUTO_ISSUE_DELAY_SECS", "1")]).await;
    let report = run(options(local.base_url(), DEMO_QIMEN_SECRET)).await;
    assert!(report.passed(), "{}", report.table());
    // The automatic issue job sent taobao.bus.agent.bookticket.confirm with success true.
    let call = delivered(&local, "taobao.bus.agent.bookticket.confirm").await;
    assert!(call.params["param_agent_confirm_book_r_q"].contains("\"success\":true"), "{:?}", call.params);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_passes_when_refunds_are_asynchronous_and_approved_automatically() {
    let (local, _dir) = start_local(&[("BUSGATE_REFUND_MODE", "async"), ("BUSGATE_AUTO_REFUND_DELAY_SECS", "1")]).await;
    let report = run(options(local.base_url(), DEMO_QIMEN_SECRET)).await;
    assert!(report.passed(), "{}", report.table());
    let apply = check(&report, "refund: apply");
    assert!(apply.detail.contains("status \"9\"") && apply.detail.contains("then decided: order 11"), "{}", apply.detail);
    let call = delivered(&local, "taobao.bus.agent.refund.confirm").await;
    assert!(call.params["param_agent_confirm_return_and_refund_r_q"].contains("\"agent_return_ticket_status\":1"), "{:?}", call.params);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_reports_an_asynchronous_issue_that_nobody_decides() {
    let (local, _dir) = start_local(&[("BUSGATE_ISSUE_MODE", "async"), ("BUSGATE_AUTO_ISSUE", "false")]).await;
    let opts = SimOptions { wait_for_async: Duration::from_secs(1), ..options(local.base_url(), DEMO_QIMEN_SECRET) };
    let report = run(opts).await;
    // Only the back office decides here; the simulator waits, then reports the order still
    // issuing (2) as a failure with that reason — and carries on.
    let confirm = check(&report, "order: confirm issues tickets");
    assert_eq!(confirm.outcome, Outcome::Failed);
    assert!(confirm.detail.contains("status 2"), "{}", confirm.detail);
    assert!(check(&report, "order: close gives the seat back").passed());
    assert_eq!(check(&report, "refund: apply").outcome, Outcome::Skipped);
    local.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_fails_with_a_clear_reason_on_a_wrong_secret() {
    let (local, _dir) = start_local(&[]).await;
    let report = run(options(local.base_url(), "not-the-secret")).await;
    assert!(!report.passed());
    let first = &report.checks[0];
    assert_eq!(first.outcome, Outcome::Failed);
    assert!(first.detail.contains("sign-check-failure"), "{}", first.detail);
    assert!(report.table().contains("FAIL"));
    local.stop();
}

#[tokio::test]
async fn sim_fails_clearly_when_nothing_listens() {
    let report = run(options("http://127.0.0.1:9".to_string(), DEMO_QIMEN_SECRET)).await;
    assert!(!report.passed());
    assert!(report.checks[0].detail.contains("cannot reach"), "{}", report.checks[0].detail);
}
