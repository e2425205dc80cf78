//! The demo operator of local mode: loaded into an empty store so a first run has something
//! to sell (an airport express with segment prices, a rolling 流水班 line with a geofenced
//! pick-up area, a round-trip line, and a week of departures from today).

use busgate_domain::catalogue::{self, ImportOptions};
use busgate_domain::gmt8;
use busgate_domain::store::{Condition, Item, Key, Write};
use busgate_edge::App;

fn marker() -> Key {
    Key::new("META", "demo")
}

/// Loads the demo catalogue unless the store already has one (data persists across restarts).
pub async fn load_if_empty(app: &App) -> Result<bool, String> {
    let store = app.store.as_ref();
    if store.get(&marker()).await.map_err(|e| e.to_string())?.is_some() {
        return Ok(false);
    }
    if !catalogue::from_cities(store, None).await.map_err(|e| e.to_string())?.is_empty() {
        return Ok(false);
    }
    let now = app.clock.now();
    let today = now.with_timezone(&gmt8()).date_naive();
    let file = catalogue::demo_catalogue(today);
    let options = ImportOptions { notify_coalesce_secs: app.config.notify_coalesce_secs as i64, ..Default::default() };
    let report = catalogue::apply_import(store, &file, now, &options, &|_, _| {}).await.map_err(|e| format!("demo catalogue: {e}"))?;
    let mark = Item::new(marker(), serde_json::json!({"loaded_at": now}).to_string());
    store.transact(vec![Write::Put { item: mark, condition: Condition::Always }]).await.map_err(|e| e.to_string())?;
    // The import queued `taobao.bus.item.notify` callbacks; hand them to the worker.
    app.dispatch(&report.callback_ids).await;
    Ok(true)
}
