//! CloudWatch metrics through the Embedded Metric Format: one JSON line on stdout per data
//! point, which CloudWatch Logs turns into metrics (no API call, no latency). Outside Lambda
//! nothing is printed.

use serde_json::json;

const NAMESPACE: &str = "Busgate";

/// Read once: the environment does not change under a running function, and a read per data
/// point (two per request) would take the environment's lock on every request.
fn in_lambda() -> bool {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some())
}

fn emit(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    if !in_lambda() {
        return;
    }
    let mut line = serde_json::Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": metrics.iter().map(|(n, _, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        line.insert((*k).into(), json!(v));
    }
    for (n, v, _) in metrics {
        line.insert((*n).into(), json!(v));
    }
    println!("{}", serde_json::Value::Object(line));
}

/// One answered request: count and latency per interface, count per result code.
pub fn request(interface: &str, code: &str, ms: f64) {
    emit(&[("Interface", interface)], &[("Requests", 1.0, "Count"), ("Latency", ms, "Milliseconds")]);
    emit(&[("Interface", interface), ("Code", code)], &[("Answers", 1.0, "Count")]);
}

/// A `method` that is not the expected one.
pub fn method_mismatch(interface: &str) {
    emit(&[("Interface", interface)], &[("MethodMismatch", 1.0, "Count")]);
}

/// Seats sold (locked by a successful create).
pub fn seats_sold(n: u64) {
    emit(&[("Service", "orders")], &[("SeatsSold", n as f64, "Count")]);
}

/// A callback attempt and its outcome (`delivered`, `retry`, `dead`).
pub fn callback(outcome: &str, age_secs: f64) {
    emit(&[("Outcome", outcome)], &[("Callbacks", 1.0, "Count"), ("CallbackAge", age_secs, "Seconds")]);
}
