//! The Fliggy bus interfaces: each handler reads its fields, calls the domain and returns the
//! data of a success or a [`Failure`]; the pipeline does everything around it.

use busgate_domain::store::StoreError;
use busgate_wire::fliggy::{Failure, RetCode};
use busgate_wire::json::Fields;
use serde_json::{Map, Value};

use crate::app::App;
use crate::routes::Route;

mod catalogue;
mod orders;
mod refunds;

pub type Answer = Result<Map<String, Value>, Failure>;

/// A store failure answers `system-error`, which Fliggy may safely retry (§2.4).
pub(crate) fn store_failure(e: StoreError) -> Failure {
    tracing::error!(error = %e, "store failure");
    Failure::plain(RetCode::SystemError)
}

pub async fn dispatch(app: &App, route: Route, f: Fields<'_>) -> Answer {
    match route {
        Route::FromCities => catalogue::from_cities(app, f).await,
        Route::ToCities => catalogue::to_cities(app, f).await,
        Route::Lines => catalogue::lines(app, f).await,
        Route::Seats => catalogue::seats(app, f).await,
        Route::StoppedSchedules => catalogue::stopped_schedules(app, f).await,
        Route::OrdersCreate => orders::create(app, f).await,
        Route::OrdersQuery => orders::query(app, f).await,
        Route::OrdersConfirm => orders::confirm(app, f).await,
        Route::OrdersClose => orders::close(app, f).await,
        Route::RefundsFee => refunds::fee(app, f).await,
        Route::RefundsApply => refunds::apply(app, f).await,
        _ => Err(Failure::new(RetCode::SystemError, "interface not available")),
    }
}
