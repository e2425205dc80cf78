//! Lambda for the operator console: wiring only. The pages and their actions are the back
//! office's (`busgate_backoffice::console`), shared with local mode's `/console/`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    busgate_backoffice::console::run_lambda().await
}
