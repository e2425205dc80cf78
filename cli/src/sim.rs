//! `busgate sim`: plays Fliggy (and Fenbeitong) against any Busgate deployment — local mode
//! or a real stack — signing every request exactly as Qimen does, and checks the answers of
//! the whole lifecycle and of the refusals an integration must get right. An operator runs it
//! before asking Fliggy to go live.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use busgate_edge::{BusRoute, Route};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Value};

/// Where to play and with which credentials.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    pub base_url: String,
    pub qimen_secret: String,
    /// A Fenbeitong token of the deployment. Without one the notice check is skipped, except
    /// against local mode, where the demo token is tried.
    pub fenbeitong_token: Option<String>,
    /// The deployment answers confirm or refunds asynchronously: how long to wait for the
    /// decision.
    pub wait_for_async: Duration,
    /// The Qimen `method` of each bus route, as the deployment expects it
    /// (`BUSGATE_METHOD_<PATH>`); routes not named use the defaults of fliggy-bus.md §1.1.
    pub methods: HashMap<Route, String>,
    /// A check that could not run counts as a failure.
    pub strict: bool,
}

impl SimOptions {
    /// The methods configured in this environment (`BUSGATE_METHOD_<PATH>`), so the simulator
    /// signs what the deployment configured with the same variables expects.
    pub fn methods_from_env(env: &dyn Fn(&str) -> Option<String>) -> HashMap<Route, String> {
        Route::ALL
            .into_iter()
            .filter(|r| r.is_bus())
            .filter_map(|r| env(&r.method_var()).map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).map(|m| (r, m)))
            .collect()
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Could not run here (the reason is the detail): not a pass.
    Skipped,
}

/// One check's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    /// Why it failed or was skipped (or what was seen, when it passed).
    pub detail: String,
    pub ms: u128,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Skips count as failures.
    pub strict: bool,
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// No check failed (and, strict, none was skipped).
    pub fn passed(&self) -> bool {
        self.count(Outcome::Passed) > 0 && self.count(Outcome::Failed) == 0 && !(self.strict && self.count(Outcome::Skipped) > 0)
    }

    /// A fixed-width table for people, ending with `N passed, N failed, N skipped`.
    pub fn table(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(10);
        let mut out = String::new();
        for c in &self.checks {
            let pad = width - c.name.chars().count();
            let word = match c.outcome {
                Outcome::Passed => "PASS",
                Outcome::Failed => "FAIL",
                Outcome::Skipped => "SKIP",
            };
            out.push_str(&format!("{word} {}{}  {:>5} ms  {}\n", c.name, " ".repeat(pad), c.ms, c.detail));
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} skipped\n",
            self.count(Outcome::Passed),
            self.count(Outcome::Failed),
            self.count(Outcome::Skipped)
        ));
        if self.strict && self.count(Outcome::Skipped) > 0 {
            out.push_str("--strict: a skipped check is a failure\n");
        }
        out
    }
}

/// What a check found: passed with a detail, failed with the reason, or skipped with why.
enum StepError {
    Failed(String),
    Skipped(String),
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Failed(s)
    }
}

impl From<&str> for StepError {
    fn from(s: &str) -> Self {
        StepError::Failed(s.to_string())
    }
}

type Step = Result<String, StepError>;

fn skip(why: impl Into<String>) -> StepError {
    StepError::Skipped(why.into())
}

struct Sim {
    opts: SimOptions,
    http: reqwest::Client,
    report: Report,
}

/// The answer of one call: HTTP status, body text, and the body as JSON (Null if not JSON).
struct Answer {
    status: u16,
    text: String,
    json: Value,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).filter(|x| !x.is_null()).ok_or_else(|| format!("answer has no `{name}`: {}", short(&v.to_string())))
}

fn short(s: &str) -> String {
    let mut t: String = s.chars().take(240).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

fn expect_code(a: &Answer, code: &str) -> Result<(), String> {
    let got = a.json.get("retCode").and_then(Value::as_str).unwrap_or("<none>");
    if a.status != 200 {
        return Err(format!("HTTP {} (expected 200): {}", a.status, short(&a.text)));
    }
    if got != code {
        return Err(format!("retCode {got} (expected {code}): {}", short(&a.text)));
    }
    let success = a.json.get("success");
    if code == "0" && success != Some(&Value::Bool(true)) {
        return Err(format!("success is not true: {}", short(&a.text)));
    }
    Ok(())
}

fn random_order_id() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random_range(100_000_000_000_000_000..900_000_000_000_000_000);
    n.to_string()
}

impl Sim {
    fn query(&self, method: &str, body: &[u8], timestamp: &str) -> String {
        busgate_signing::qimen_query(method, body, &self.opts.qimen_secret, timestamp)
    }

    async fn post(&self, path: &str, query: &str, content_type: &str, body: Vec<u8>) -> Result<Answer, String> {
        let url = format!("{}{path}?{query}", self.opts.base_url.trim_end_matches('/'));
        let r = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.opts.base_url))?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, text, json })
    }

    /// The `method` the deployment expects on a bus route.
    fn method(&self, route: Route) -> &str {
        self.opts.methods.get(&route).map(String::as_str).or(route.default_method()).unwrap_or_default()
    }

    /// A correctly signed bus call.
    async fn bus(&self, route: Route, body: &Value) -> Result<Answer, String> {
        let bytes = serde_json::to_vec(body).expect("json");
        let ts = busgate_signing::format_timestamp(chrono::Utc::now());
        let q = self.query(self.method(route), &bytes, &ts);
        self.post(route.path(), &q, "application/json;charset=utf-8", bytes).await
    }

    async fn check<F, E>(&mut self, name: &str, f: F) -> bool
    where
        F: AsyncFnOnce(&Sim) -> Result<String, E>,
        E: Into<StepError>,
    {
        let started = Instant::now();
        let result: Step = f(self).await.map_err(Into::into);
        let ms = started.elapsed().as_millis();
        let (outcome, detail) = match result {
            Ok(d) => (Outcome::Passed, d),
            Err(StepError::Failed(d)) => (Outcome::Failed, d),
            Err(StepError::Skipped(d)) => (Outcome::Skipped, d),
        };
        self.report.checks.push(Check { name: name.to_string(), outcome, detail, ms });
        outcome == Outcome::Passed
    }

    /// Records a check that cannot run, with the reason.
    fn skipped(&mut self, name: &str, why: impl Into<String>) {
        self.report.checks.push(Check { name: name.to_string(), outcome: Outcome::Skipped, detail: why.into(), ms: 0 });
    }
}

/// What the catalogue checks found to sell.
#[derive(Debug, Clone, Default)]
pub struct Target {
    from_city: String,
    to_city: String,
    schedule_id: String,
    line_id: String,
    from_date: String,
    from_time: String,
    from_station: String,
    to_station: String,
    price: i64,
    seats: i64,
    area_boarding: Option<Value>,
    /// Its tickets can be refunded now (and for the next half hour).
    refundable: bool,
}

impl Target {
    /// The departure's `scheduleId`.
    pub fn schedule_id(&self) -> &str {
        &self.schedule_id
    }
    /// Whether its tickets can be refunded now (and for the next half hour).
    pub fn refundable(&self) -> bool {
        self.refundable
    }
    /// The seat query of its segment.
    pub fn seats_body(&self) -> Value {
        json!({"scheduleId": self.schedule_id, "lineId": self.line_id, "fromDate": self.from_date, "fromTime": self.from_time,
               "fromStationCode": self.from_station, "toStationCode": self.to_station})
    }
}

/// A create-order body for `count` passengers on the target's segment.
pub fn order_body(t: &Target, order_id: &str, count: usize) -> Value {
    let passengers: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "passengerName": format!("测试{}", i + 1),
                "passengerCertificateType": "1",
                "passengerCertificateNo": format!("11010119900101{:03}X", i + 1),
                "passengerType": "0",
                "ticketPrice": t.price,
            })
        })
        .collect();
    let mut body = json!({
        "alitripOrderId": order_id,
        "scheduleId": t.schedule_id,
        "lineId": t.line_id,
        "fromDate": t.from_date,
        "fromTime": format!("{}:00", t.from_time),
        "fromStationCode": t.from_station,
        "toStationCode": t.to_station,
        "ticketCount": count,
        "orderAmount": t.price * count as i64,
        "ticketAmount": t.price * count as i64,
        "contactName": "测试1",
        "contactMobile": "13800000000",
        "passengerList": passengers,
    });
    if let Some(point) = &t.area_boarding {
        body["customDepartureAddress"] = json!("上车点");
        body["customDepartureLongitude"] = point["longitude"].clone();
        body["customDepartureLatitude"] = point["latitude"].clone();
    }
    body
}

/// When a departure leaves: its `fromDate` and `fromTime` (GMT+8).
fn departs_at(d: &Value) -> Option<DateTime<Utc>> {
    let line = d.get("line")?;
    let date = NaiveDate::parse_from_str(line.get("fromDate")?.as_str()?, "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(line.get("fromTime")?.as_str()?, "%H:%M").ok()?;
    Some(date.and_time(time).and_local_timezone(busgate_domain::gmt8()).single()?.with_timezone(&Utc))
}

/// Whether a ticket of `d` can be refunded at `at`, by the `refundRules` the lines answer
/// gives (a tier covers `minHours` ≤ hours before departure < `maxHours`).
fn refundable_at(d: &Value, at: DateTime<Utc>) -> bool {
    let (Some(departs), Some(rules)) = (departs_at(d), d.get("refundRules").and_then(Value::as_array)) else { return false };
    let hours = (departs - at).num_seconds() as f64 / 3600.0;
    rules.iter().any(|r| {
        let min = r.get("minHours").and_then(Value::as_f64).unwrap_or(0.0);
        let max = r.get("maxHours").and_then(Value::as_f64).unwrap_or(f64::INFINITY);
        min <= hours && hours < max && r.get("refundable").and_then(Value::as_bool) == Some(true)
    })
}

/// Picks an on-sale departure with at least 3 seats, on a segment whose stations are fixed
/// points (or whose area boarding gets a point of its geofence). A departure whose tickets can
/// still be refunded for the next half hour (the run's length) is preferred, so that every
/// check can run whatever the hour; `refundable` says whether one was found.
pub fn pick(lines: &Value, from_city: &str, to_city: &str, now: DateTime<Utc>) -> Option<Target> {
    let mut fallback = None;
    for d in lines.get("lineSchedule")?.as_array()? {
        let Some(t) = segment_of(d, from_city, to_city) else { continue };
        let refundable = refundable_at(d, now) && refundable_at(d, now + chrono::Duration::minutes(30));
        if refundable {
            return Some(Target { refundable, ..t });
        }
        fallback.get_or_insert(t);
    }
    fallback
}

fn segment_of(d: &Value, from_city: &str, to_city: &str) -> Option<Target> {
    let seats = d.get("leftTicketCnt")?.as_i64()?;
    if seats < 3 {
        return None;
    }
    let stations = d.get("stations")?.as_array()?;
    for seg in d.get("segmentPrices")?.as_array()? {
        let from = seg.get("fromStationCode")?.as_str()?;
        let to = seg.get("toStationCode")?.as_str()?;
        let st = |code: &str| stations.iter().find(|s| s.get("stationCode").and_then(Value::as_str) == Some(code));
        let (fs, ts) = (st(from)?, st(to)?);
        if ts.get("stationType").and_then(Value::as_i64) == Some(2) {
            continue;
        }
        let area_boarding =
            if fs.get("stationType").and_then(Value::as_i64) == Some(2) { Some(fs.get("geofence")?.as_array()?.first()?.clone()) } else { None };
        let line = d.get("line")?;
        return Some(Target {
            from_city: from_city.to_string(),
            to_city: to_city.to_string(),
            schedule_id: d.get("scheduleId")?.as_str()?.to_string(),
            line_id: line.get("id")?.as_str()?.to_string(),
            from_date: line.get("fromDate")?.as_str()?.to_string(),
            from_time: line.get("fromTime")?.as_str()?.to_string(),
            from_station: from.to_string(),
            to_station: to.to_string(),
            price: seg.get("price")?.as_i64()?,
            seats,
            area_boarding,
            refundable: false,
        });
    }
    None
}

async fn seats_left(sim: &Sim, t: &Target) -> Result<i64, String> {
    let a = sim.bus(Route::Bus(BusRoute::Seats), &t.seats_body()).await?;
    expect_code(&a, "0")?;
    field(&a.json, "leftTicketCnt")?.as_i64().ok_or_else(|| "leftTicketCnt is not a number".into())
}

/// Runs every check against the deployment.
pub async fn run(opts: SimOptions) -> Report {
    let strict = opts.strict;
    let mut sim = Sim {
        opts,
        http: reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client"),
        report: Report { strict, ..Report::default() },
    };
    let target = std::sync::Arc::new(std::sync::Mutex::new(Target::default()));

    // --- catalogue pull
    let t = target.clone();
    let reachable = sim
        .check("catalogue: departure cities", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::FromCities), &json!({})).await?;
            expect_code(&a, "0")?;
            let list = field(&a.json, "fromCityList")?.as_array().cloned().unwrap_or_default();
            let first = list.first().ok_or("no departure city")?;
            t.lock().unwrap().from_city = field(first, "fromCity")?.as_str().unwrap_or_default().to_string();
            Ok(format!("{} cities", list.len()))
        })
        .await;
    if !reachable {
        return sim.report;
    }
    let t = target.clone();
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let arr = arrivals.clone();
    sim.check("catalogue: arrival cities", async move |s| -> Result<String, String> {
        let from = t.lock().unwrap().from_city.clone();
        let a = s.bus(Route::Bus(BusRoute::ToCities), &json!({"fromCity": from})).await?;
        expect_code(&a, "0")?;
        let list = field(&a.json, "toCityList")?.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return Err(format!("no arrival city from {from}"));
        }
        *arr.lock().unwrap() = list.iter().filter_map(|c| c.get("toCity").and_then(Value::as_str).map(str::to_string)).collect();
        Ok(format!("{} cities from {from}", list.len()))
    })
    .await;
    let t = target.clone();
    let arr = arrivals.lock().unwrap().clone();
    let have_departure = sim
        .check("catalogue: lines and departures", async move |s| -> Result<String, String> {
            let from = t.lock().unwrap().from_city.clone();
            let mut found: Option<Target> = None;
            let mut departures = 0;
            // Every arrival city until a departure that lets every check run (refundable now).
            for to in &arr {
                let a = s.bus(Route::Bus(BusRoute::Lines), &json!({"fromCity": from, "toCity": to})).await?;
                expect_code(&a, "0")?;
                departures += a.json.get("lineSchedule").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
                if let Some(p) = pick(&a.json, &from, to, chrono::Utc::now()) {
                    let done = p.refundable;
                    if found.as_ref().is_none_or(|f| !f.refundable) {
                        found = Some(p);
                    }
                    if done {
                        break;
                    }
                }
            }
            let picked = found.ok_or_else(|| format!("no on-sale departure from {from} with 3 seats left ({departures} departures listed)"))?;
            let detail = format!(
                "{} {}→{} ({} {}, {} seats{})",
                picked.schedule_id,
                picked.from_city,
                picked.to_city,
                picked.from_date,
                picked.from_time,
                picked.seats,
                if picked.refundable { ", refundable now" } else { ", not refundable now" }
            );
            *t.lock().unwrap() = picked;
            Ok(detail)
        })
        .await;
    let t = target.clone();
    sim.check("catalogue: stopped departures", async move |s| -> Result<String, String> {
        let from = t.lock().unwrap().from_city.clone();
        let a = s.bus(Route::Bus(BusRoute::StoppedSchedules), &json!({"fromCity": from})).await?;
        expect_code(&a, "0")?;
        Ok(format!("{} stopped", field(&a.json, "lineSchedule")?.as_array().map(Vec::len).unwrap_or(0)))
    })
    .await;

    // --- refusals every integration must get right
    sim.check("refusal: bad signature", async move |s| -> Result<String, String> {
        let body = br#"{"fromCity":"x"}"#.to_vec();
        let q = s.query(
            Route::Bus(BusRoute::ToCities).default_method().unwrap_or_default(),
            b"{}",
            &busgate_signing::format_timestamp(chrono::Utc::now()),
        );
        let a = s.post(Route::Bus(BusRoute::ToCities).path(), &q, "application/json;charset=utf-8", body).await?;
        let expected = busgate_wire::fliggy::SIGN_FAILURE_BODY;
        let same = serde_json::from_str::<Value>(expected).ok() == Some(a.json.clone());
        if a.status == 200 && same {
            Ok("exact sign-failure body".into())
        } else {
            Err(format!("HTTP {}: {} (expected {expected})", a.status, short(&a.text)))
        }
    })
    .await;
    sim.check("refusal: stale timestamp", async move |s| -> Result<String, String> {
        let body = br#"{"fromCity":"x"}"#.to_vec();
        let stale = busgate_signing::format_timestamp(chrono::Utc::now() - chrono::Duration::hours(2));
        let q = s.query(Route::Bus(BusRoute::ToCities).default_method().unwrap_or_default(), &body, &stale);
        let a = s.post(Route::Bus(BusRoute::ToCities).path(), &q, "application/json;charset=utf-8", body).await?;
        expect_code(&a, "timestamp-expired").map(|_| "timestamp-expired".into())
    })
    .await;
    sim.check("refusal: malformed body", async move |s| -> Result<String, String> {
        let body = br#"{"fromCity":"#.to_vec();
        let q = s.query(
            Route::Bus(BusRoute::ToCities).default_method().unwrap_or_default(),
            &body,
            &busgate_signing::format_timestamp(chrono::Utc::now()),
        );
        let a = s.post(Route::Bus(BusRoute::ToCities).path(), &q, "application/json;charset=utf-8", body).await?;
        expect_code(&a, "invalid-parameter")?;
        Ok(a.json.get("retDesc").and_then(Value::as_str).unwrap_or_default().to_string())
    })
    .await;

    if have_departure {
        let target = target.lock().unwrap().clone();
        order_lifecycle(&mut sim, &target).await;
    } else {
        sim.skipped("order lifecycle", "no departure to sell (see the catalogue checks)");
    }
    collaboration_case(&mut sim).await;
    fenbeitong_notice(&mut sim).await;
    sim.report
}

async fn order_lifecycle(sim: &mut Sim, t: &Target) {
    let before = std::sync::Arc::new(std::sync::Mutex::new(0i64));
    let order_id = random_order_id();
    let agent = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b = before.clone();
    sim.check("seats: live count and price", async move |s| -> Result<String, String> {
        let a = s
            .bus(
                Route::Bus(BusRoute::Seats),
                &json!({"scheduleId": t.schedule_id, "lineId": t.line_id, "fromDate": t.from_date, "fromTime": t.from_time,
                        "fromStationCode": t.from_station, "toStationCode": t.to_station}),
            )
            .await?;
        expect_code(&a, "0")?;
        let left = field(&a.json, "leftTicketCnt")?.as_i64().ok_or("leftTicketCnt is not a number")?;
        let price = field(&a.json, "ticketPrice")?.as_str().ok_or("ticketPrice is not a string")?.to_string();
        if price != t.price.to_string() {
            return Err(format!("ticketPrice {price}, lines said {}", t.price));
        }
        *b.lock().unwrap() = left;
        Ok(format!("{left} left at {price} fen"))
    })
    .await;
    let body = order_body(t, &order_id, 1);
    let first_answer = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
    let (fa, ag, bd) = (first_answer.clone(), agent.clone(), body.clone());
    let created = sim
        .check("order: create locks a seat", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::OrdersCreate), &bd).await?;
            expect_code(&a, "0")?;
            if field(&a.json, "status")? != "1" {
                return Err(format!("status {} (expected \"1\")", a.json["status"]));
            }
            *ag.lock().unwrap() = field(&a.json, "agentOrderId")?.as_str().unwrap_or_default().to_string();
            *fa.lock().unwrap() = a.json.clone();
            Ok(format!("{} locked until {}", a.json["agentOrderId"], a.json["lockExpireTime"]))
        })
        .await;
    if !created {
        return;
    }
    let (fa, bd) = (first_answer.clone(), body.clone());
    sim.check("order: duplicate create gets the same answer", async move |s| -> Result<String, String> {
        let a = s.bus(Route::Bus(BusRoute::OrdersCreate), &bd).await?;
        let first = fa.lock().unwrap().clone();
        if a.json == first {
            Ok("identical answer, no second seat".into())
        } else {
            Err(format!("different answer: {}", short(&a.text)))
        }
    })
    .await;
    let b = before.clone();
    sim.check("seats: reflect the lock", async move |s| -> Result<String, String> {
        let left = seats_left(s, t).await?;
        let was = *b.lock().unwrap();
        if left == was - 1 {
            Ok(format!("{was} → {left}"))
        } else {
            Err(format!("{was} → {left} (expected {})", was - 1))
        }
    })
    .await;
    let ids = |agent: &std::sync::Arc<std::sync::Mutex<String>>, order: &str| json!({"agentOrderId": agent.lock().unwrap().clone(), "alitripOrderId": order});
    let q = ids(&agent, &order_id);
    sim.check("order: query (locked)", async move |s| -> Result<String, String> {
        let a = s.bus(Route::Bus(BusRoute::OrdersQuery), &q).await?;
        expect_code(&a, "0")?;
        if field(&a.json, "status")? != "1" {
            return Err(format!("status {}", a.json["status"]));
        }
        Ok("status 1 等待付款".into())
    })
    .await;
    let q = ids(&agent, &order_id);
    let wait = sim.opts.wait_for_async;
    let issued = sim
        .check("order: confirm issues tickets", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::OrdersConfirm), &q).await?;
            expect_code(&a, "0")?;
            let mut status = field(&a.json, "status")?.as_str().unwrap_or_default().to_string();
            let started = Instant::now();
            while status == "2" && started.elapsed() < wait {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let a = s.bus(Route::Bus(BusRoute::OrdersQuery), &q).await?;
                status = field(&a.json, "status")?.as_str().unwrap_or_default().to_string();
            }
            if status != "3" {
                return Err(format!("status {status} (expected \"3\")"));
            }
            Ok("status 3 出票成功".into())
        })
        .await;
    let q = ids(&agent, &order_id);
    if issued {
        sim.check("order: query shows issued tickets", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::OrdersQuery), &q).await?;
            expect_code(&a, "0")?;
            let ticket = a.json.pointer("/passengerList/0/ticketList/0").ok_or("no ticket in passengerList[0].ticketList")?;
            for f in ["ticketNo", "ticketPwd", "eTicketNo"] {
                field(ticket, f)?;
            }
            if ticket["ticketStatus"] != "2" {
                return Err(format!("ticketStatus {} (expected \"2\")", ticket["ticketStatus"]));
            }
            Ok(format!("ticket {} issued", ticket["ticketNo"]))
        })
        .await;
        let q = ids(&agent, &order_id);
        let fee = std::sync::Arc::new(std::sync::Mutex::new(None::<i64>));
        let f2 = fee.clone();
        sim.check("refund: fee quote", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::RefundsFee), &q).await?;
            expect_code(&a, "0")?;
            let entry = a.json.pointer("/passengerList/0").ok_or("no passengerList[0]")?;
            let refundable = field(entry, "refundable")?.as_bool().unwrap_or(false);
            if refundable {
                *f2.lock().unwrap() = entry.get("refundSurcharge").and_then(Value::as_i64);
            }
            Ok(format!("refundable {refundable}, surcharge {} fen", entry["refundSurcharge"]))
        })
        .await;
        let surcharge = *fee.lock().unwrap();
        match surcharge {
            Some(surcharge) => {
                let mut q = ids(&agent, &order_id);
                q["passengerList"] = json!([{"passengerId": "1", "ticketId": format!("{}-1", agent.lock().unwrap()), "refundSurcharge": surcharge}]);
                let wait = sim.opts.wait_for_async;
                sim.check("refund: apply", async move |s| -> Step {
                    let a = s.bus(Route::Bus(BusRoute::RefundsApply), &q).await?;
                    expect_code(&a, "0")?;
                    let detail = format!("refund {} status {} amount {}", a.json["refundId"], a.json["status"], a.json["totalRefundAmount"]);
                    if a.json["status"] != "9" {
                        return Ok(detail);
                    }
                    // Async refund: the decision (automatic, or the back office's) moves the
                    // ticket out of 4 and sends refund.confirm.
                    let started = Instant::now();
                    loop {
                        let a = s.bus(Route::Bus(BusRoute::OrdersQuery), &q).await?;
                        let status = field(&a.json, "status")?.as_str().unwrap_or_default().to_string();
                        if status != "9" {
                            let ticket = a.json.pointer("/passengerList/0/ticketList/0/ticketStatus").cloned().unwrap_or(Value::Null);
                            return Ok(format!("{detail}, then decided: order {status}, ticket {ticket}"));
                        }
                        if started.elapsed() >= wait {
                            return Err(skip(format!(
                                "{detail}: still 9 退票中 after {} s; it waits for the back office (busgate refund approve {})",
                                wait.as_secs(),
                                q.get("refundId").and_then(Value::as_str).unwrap_or("REFUND_ID")
                            )));
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                })
                .await;
            }
            None => sim.skipped(
                "refund: apply",
                format!("departure {} {} {} is not refundable now, and no listed departure was", t.schedule_id, t.from_date, t.from_time),
            ),
        }
    } else {
        for name in ["order: query shows issued tickets", "refund: fee quote", "refund: apply"] {
            sim.skipped(name, "no ticket was issued");
        }
    }
    // Close: a second order, never paid.
    let second = random_order_id();
    let body2 = order_body(t, &second, 1);
    let agent2 = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let a2 = agent2.clone();
    let created2 = sim
        .check("order: create a second order", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::OrdersCreate), &body2).await?;
            expect_code(&a, "0")?;
            *a2.lock().unwrap() = field(&a.json, "agentOrderId")?.as_str().unwrap_or_default().to_string();
            Ok("locked".into())
        })
        .await;
    if created2 {
        let before_close = seats_left(sim, t).await.unwrap_or(-1);
        let q = ids(&agent2, &second);
        sim.check("order: close gives the seat back", async move |s| -> Result<String, String> {
            let a = s.bus(Route::Bus(BusRoute::OrdersClose), &q).await?;
            expect_code(&a, "0")?;
            if field(&a.json, "status")? != "5" {
                return Err(format!("status {}", a.json["status"]));
            }
            let after = seats_left(s, t).await?;
            if after != before_close + 1 {
                return Err(format!("seats {before_close} → {after} (expected +1)"));
            }
            Ok(format!("status 5, seats {before_close} → {after}"))
        })
        .await;
    }
    // Sold out: more tickets than seats left.
    sim.check("refusal: not enough seats", async move |s| -> Step {
        let left = seats_left(s, t).await?;
        let count = (left + 1).clamp(1, 100) as usize;
        if left + 1 > 100 {
            return Err(skip(format!("{left} seats left, over the 100-ticket limit of one order")));
        }
        let a = s.bus(Route::Bus(BusRoute::OrdersCreate), &order_body(t, &random_order_id(), count)).await?;
        expect_code(&a, "1104")?;
        Ok(format!("{count} tickets for {left} seats → 1104"))
    })
    .await;
}

async fn collaboration_case(sim: &mut Sim) {
    let case_id = random_order_id();
    let order_id = random_order_id();
    let message = |t: &str| {
        json!({"case_id": case_id, "relation_type": t, "operator": "模拟小二", "order_id": order_id,
               "attributes": "{\"content\":\"busgate sim\"}"})
    };
    let (start, end) = (message("startRelation"), message("endRelation"));
    sim.check("collaboration: case opened and ended", async move |s| -> Result<String, String> {
        let post = |body: Value| async move {
            let bytes = serde_json::to_vec(&body).expect("json");
            let q = s.query("alitrip.serve.workorder.relation.notify", &bytes, &busgate_signing::format_timestamp(chrono::Utc::now()));
            s.post("/fliggy/relation", &q, "application/json;charset=utf-8", bytes).await
        };
        let a = post(start.clone()).await?;
        if a.json.get("success") != Some(&Value::Bool(true)) {
            return Err(format!("start: HTTP {} {}", a.status, short(&a.text)));
        }
        let id = field(&a.json, "relation_case_id")?.clone();
        let again = post(start).await?;
        if again.json.get("relation_case_id") != Some(&id) {
            return Err(format!("a repeated start got another id: {}", short(&again.text)));
        }
        let e = post(end).await?;
        if e.json.get("success") != Some(&Value::Bool(true)) {
            return Err(format!("end: {}", short(&e.text)));
        }
        Ok(format!("case {id}"))
    })
    .await;
}

/// Whether the deployment is local mode (it answers `/_local/health`).
async fn is_local_mode(sim: &Sim) -> bool {
    let url = format!("{}/_local/health", sim.opts.base_url.trim_end_matches('/'));
    matches!(sim.http.get(url).send().await, Ok(r) if r.status().is_success())
}

async fn fenbeitong_notice(sim: &mut Sim) {
    const NAME: &str = "fenbeitong: notice stored once";
    let token = match sim.opts.fenbeitong_token.clone() {
        Some(t) => t,
        None if is_local_mode(sim).await => crate::local::DEMO_FENBEITONG_TOKEN.to_string(),
        None => return sim.skipped(NAME, "no --fenbeitong-token given (a company token of the deployment)"),
    };
    let apply_id = random_order_id();
    // Fenbeitong's own example notice (the seed), under a fresh apply id.
    let mut notice: Value = serde_json::from_str(include_str!("../../tests/fixtures/fenbeitong/train_rebook.json")).expect("fixture is JSON");
    notice["apply"]["id"] = json!(apply_id);
    let given = sim.opts.fenbeitong_token.is_some();
    sim.check(NAME, async move |s| -> Step {
        let path = format!("/fenbeitong/notify/{token}");
        let bytes = serde_json::to_vec(&notice).expect("json");
        let a = s.post(&path, "", "application/json", bytes.clone()).await?;
        if a.status == 401 && !given {
            return Err(skip("local mode does not use the demo Fenbeitong token: give --fenbeitong-token"));
        }
        if a.status != 200 || a.json.get("code") != Some(&json!(0)) {
            return Err(format!("HTTP {}: {}", a.status, short(&a.text)).into());
        }
        let again = s.post(&path, "", "application/json", bytes).await?;
        if again.status != 200 || again.json.get("code") != Some(&json!(0)) {
            return Err(format!("repeat: HTTP {}: {}", again.status, short(&again.text)).into());
        }
        let wrong = s.post("/fenbeitong/notify/not-a-configured-token-000", "", "application/json", b"{}".to_vec()).await?;
        if wrong.status != 401 {
            return Err(format!("a wrong token got HTTP {}", wrong.status).into());
        }
        Ok(format!("apply {apply_id}: accepted, repeat acknowledged, wrong token 401"))
    })
    .await;
}
