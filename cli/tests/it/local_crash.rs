//! Group commit loses nothing acknowledged: the real `busgate local` takes concurrent creates
//! (one redb commit per group of them), is killed with SIGKILL while more are in flight, and
//! its store, opened again, holds every order it answered `retCode 0` for, with the seats of
//! exactly the orders it holds taken.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::local_support;

use busgate_edge::{BusRoute, Route};
use local_support::signed_url;
use serde_json::{json, Value};

const CONNECTIONS: usize = 16;

async fn call(http: &reqwest::Client, base: &str, route: Route, body: &Value) -> Option<Value> {
    let bytes = serde_json::to_vec(body).unwrap();
    let r = http.post(signed_url(base, route, &bytes)).header("content-type", "application/json").body(bytes).send().await.ok()?;
    serde_json::from_str(&r.text().await.ok()?).ok()
}

#[test]
fn orders_answered_before_a_kill_are_all_in_the_store() {
    let dir = std::env::temp_dir().join(format!("busgate-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut child, base) = local_support::start(&dir.join("data"), |cmd| {
        cmd.env("BUSGATE_LOG", "warn").stderr(Stdio::null());
    });

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let schedule_id = rt.block_on(async {
        let http = reqwest::Client::new();
        let lines = call(&http, &base, Route::Bus(BusRoute::Lines), &json!({"fromCity": "上海市"})).await.expect("lines");
        let target = busgate_cli::sim::pick(&lines, "上海市", "", chrono::Utc::now()).expect("a sellable demo departure");
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let (base, acked, target) = (base.clone(), acked.clone(), target.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                for i in 0..1000 {
                    let id = format!("98{c:02}{i:08}");
                    let Some(a) = call(&http, &base, Route::Bus(BusRoute::OrdersCreate), &busgate_cli::sim::order_body(&target, &id, 1)).await else {
                        return;
                    };
                    if a["retCode"] == "0" {
                        acked.lock().unwrap().push(id);
                    }
                }
            }));
        }
        // Kill it hard once enough were answered, with the other connections mid-request.
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() < 20 {
            assert!(Instant::now() < deadline, "too few creates answered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for t in tasks {
            let _ = t.await;
        }
        target.schedule_id().to_string()
    });

    let acked = acked.lock().unwrap().clone();
    rt.block_on(async {
        let store = busgate_adapters::EmbeddedStore::open(&dir.join("data")).expect("the store opens after the kill");
        for id in &acked {
            let order = busgate_domain::orders::get_order(&store, id).await.unwrap();
            assert!(order.is_some(), "order {id} was acknowledged but is not in the store");
        }
        // Seats taken = tickets of the orders the store holds (answered or not): all or nothing.
        let held = busgate_domain::orders::orders_of_departure(&store, &schedule_id).await.unwrap();
        let (dep, left) = busgate_domain::catalogue::load_departure(&store, &schedule_id).await.unwrap().unwrap();
        let tickets: usize = held.iter().map(|o| o.passengers.len()).sum();
        assert_eq!(i64::from(dep.seats) - left, tickets as i64, "seats taken match the orders held");
        assert!(held.len() >= acked.len());
        eprintln!("{} acknowledged, {} in the store after SIGKILL", acked.len(), held.len());
    });
    let _ = std::fs::remove_dir_all(&dir);
}
