//! The sweeper, run every minute (EventBridge in AWS, a timer in local mode): releases unpaid
//! seat locks past their hold time, fails async issues past their deadline, approves async
//! refunds past theirs, and re-queues callbacks that never reached the queue.

use crate::app::App;

/// One sweep; returns a short report for the logs.
pub async fn sweep(app: &App) -> String {
    let orders = match busgate_domain::orders::expire_due(app.store.as_ref(), app.clock.now()).await {
        Ok(report) => {
            app.dispatch(&report.callback_ids).await;
            format!("{} locks expired, {} issues timed out, {} errors; ", report.locks_expired, report.issues_timed_out, report.errors)
        }
        Err(e) => {
            tracing::error!(error = %e, "order expiry failed");
            String::new()
        }
    };
    let deadline = chrono::Duration::minutes(app.config.sales.async_refund_deadline_minutes);
    let refunds = match busgate_domain::orders::approve_overdue_refunds(app.store.as_ref(), app.clock.now(), deadline).await {
        Ok(report) => {
            app.dispatch(&report.callback_ids).await;
            format!("{} overdue refunds approved, {} errors; ", report.approved, report.errors)
        }
        Err(e) => {
            tracing::error!(error = %e, "overdue refund approval failed");
            String::new()
        }
    };
    let requeued = match crate::outbound::delivery::requeue_overdue(app, chrono::Duration::minutes(15)).await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "re-queue of overdue callbacks failed");
            0
        }
    };
    format!("{orders}{refunds}requeued {requeued} callbacks")
}

/// Local mode's timer.
pub async fn run_local_sweeper(app: App, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let report = sweep(&app).await;
        tracing::debug!(%report, "sweep");
    }
}
