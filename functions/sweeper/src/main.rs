//! Lambda run every minute: expires unpaid seat locks and overdue async issues, and re-queues
//! callbacks that were committed but never handed to the queue.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    busgate_edge::lambda::run_sweeper().await
}
