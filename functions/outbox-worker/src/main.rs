//! Lambda consuming the outbox queue: delivers callbacks to Fliggy and Fenbeitong, reporting
//! partial batch failures so that only the failed ones are retried (with backoff).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    busgate_edge::lambda::run_worker().await
}
