//! Lambda for the `relation` interface: wiring only; the handler is shared with local mode.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    busgate_edge::lambda::run_relation().await
}
