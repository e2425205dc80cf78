//! Catalogue interfaces: cities, lines, seats, stopped departures (fliggy-bus.md §3.1–§3.4,
//! §3.10). Reads only: each is a key lookup or an index query, never a scan.

use busgate_domain::catalogue;
use busgate_wire::json::Fields;
use serde_json::{json, Map, Value};

use super::{store_failure, Answer};
use crate::app::App;

fn data(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// §3.1 departure cities.
pub async fn from_cities(app: &App, f: Fields<'_>) -> Answer {
    let filter = f.opt_str("fromCity")?;
    let cities = catalogue::from_cities(app.store.as_ref(), filter.as_deref()).await.map_err(store_failure)?;
    let list: Vec<Value> = cities
        .into_iter()
        .map(|c| json!({"provinceName": c.province, "fromCity": c.name, "cityCode": c.code}))
        .collect();
    Ok(data([("fromCityList", Value::Array(list))]))
}
