//! `busgate local` as a user runs it — the real binary, its default logging on — under 32
//! concurrent connections for several seconds: every request is answered, the process stays
//! alive, and the log stays bounded (one line per request, no request span nested in
//! another's). Bounded in time and count; loopback only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::local_support;

use busgate_edge::{BusRoute, Route};
use local_support::signed_url;

const CONNECTIONS: usize = 32;
const RUN_FOR: Duration = Duration::from_secs(4);
/// At most this many requests per connection (the loop also stops at RUN_FOR).
const MAX_PER_CONNECTION: usize = 2_000;

#[test]
fn local_mode_with_its_default_logging_survives_32_concurrent_connections() {
    let dir = std::env::temp_dir().join(format!("busgate-load-{}", std::process::id()));
    let log_path = dir.join("stderr.log");
    std::fs::create_dir_all(&dir).unwrap();
    let log = std::fs::File::create(&log_path).unwrap();
    let (mut child, base) = local_support::start(&dir.join("data"), |cmd| {
        // The default filter, as a new user has it.
        cmd.env_remove("BUSGATE_LOG").stderr(log);
    });
    let log_before = std::fs::metadata(&log_path).unwrap().len();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (answered, wrong) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    rt.block_on(async {
        let stop_at = Instant::now() + RUN_FOR;
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let (base, answered, wrong) = (base.clone(), answered.clone(), wrong.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(10)).build().unwrap();
                for i in 0..MAX_PER_CONNECTION {
                    if Instant::now() >= stop_at {
                        break;
                    }
                    // Departure and arrival cities, alternately: reads that log one line each.
                    let (route, body): (Route, &[u8]) = if (c + i) % 2 == 0 {
                        (Route::Bus(BusRoute::FromCities), b"{}")
                    } else {
                        (Route::Bus(BusRoute::ToCities), "{\"fromCity\":\"上海市\"}".as_bytes())
                    };
                    let r = http.post(signed_url(&base, route, body)).header("content-type", "application/json").body(body.to_vec()).send().await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default();
                            if v["retCode"] == "0" {
                                answered.fetch_add(1, Ordering::Relaxed);
                            } else {
                                wrong.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let (answered, wrong) = (answered.load(Ordering::Relaxed), wrong.load(Ordering::Relaxed));
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);

    eprintln!("{answered} answered, {wrong} not, {} log bytes", text.len());
    assert!(alive, "local mode died under load; its log ends with:\n{}", tail(&text));
    assert_eq!(wrong, 0, "every request answered with success; log:\n{}", tail(&text));
    assert!(answered >= CONNECTIONS * 10, "only {answered} requests in {RUN_FOR:?}");
    assert!(!text.contains("panicked"), "{}", tail(&text));
    // Bounded: one `answered` line per request, each under 1 KB, and no request span inside
    // another request's span.
    let lines: Vec<&str> = text[log_before as usize..].lines().collect();
    let answered_lines = lines.iter().filter(|l| l.contains("answered")).count();
    assert_eq!(answered_lines, answered, "one log line per request");
    assert!(lines.iter().all(|l| l.len() < 1024), "a log line over 1 KB");
    assert!(
        lines.iter().all(|l| l.matches("request{").count() <= 1),
        "nested request spans: {}",
        lines.iter().find(|l| l.matches("request{").count() > 1).unwrap()
    );
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
