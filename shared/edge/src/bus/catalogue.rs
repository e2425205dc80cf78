//! Catalogue interfaces: cities, lines, seats, stopped departures (fliggy-bus.md §3.1–§3.4,
//! §3.10).

use busgate_wire::json::Fields;

use super::Answer;
use crate::app::App;

/// §3.1 departure cities.
pub async fn from_cities(app: &App, f: Fields<'_>) -> Answer {
    let _filter = f.opt_str("fromCity")?;
    let _ = app;
    todo!("wired to the catalogue once it lands")
}
