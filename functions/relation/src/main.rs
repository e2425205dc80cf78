//! Lambda for the `relation` interface: wiring only; the handler is shared with local mode.

use busgate_edge::{lambda, Route};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run_http(Route::Relation).await
}
