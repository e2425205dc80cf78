//! Delivery of outbox callbacks: one attempt per received queue message. The callback record
//! is the truth: a delivered one is never sent again, a dead one waits for `busgate outbox
//! replay`; the queue only says "look at this callback now".

pub use busgate_domain::outbox::{backoff_secs, Disposition};
use busgate_domain::outbox::{Callback, CallbackStatus, Partners, QueueMessage, Sent};
use busgate_domain::queue::{Lane, Message};
use busgate_domain::store::{Condition, StoreError, Write};

use crate::app::App;
use crate::metrics;

/// Records the outcome on the callback, conditional on the version it was read at.
async fn record(app: &App, cb: &Callback, version: u64) -> Result<(), StoreError> {
    app.store.transact(vec![Write::Put { item: cb.to_item(version + 1), condition: Condition::Version(version) }]).await
}

/// Settles a queued job (automatic issue or refund approval) from its decision: the decision's
/// callbacks dispatched; store trouble or contention retried; anything else (already decided,
/// closed, timed out) left as it is.
async fn settle_job(app: &App, job: &str, id: &str, decided: Result<Vec<String>, busgate_domain::orders::OrderError>) -> Disposition {
    use busgate_domain::orders::OrderError;
    match decided {
        Ok(callback_ids) => {
            tracing::info!(job, id, callbacks = callback_ids.len(), "job decided");
            app.dispatch(&callback_ids).await;
            Disposition::Done
        }
        Err(e @ (OrderError::Store(_) | OrderError::Busy(_))) => {
            tracing::warn!(job, id, error = %e, "job not decided; retrying");
            Disposition::RetryAfter(backoff_secs(app.config.retry.backoff_base_secs, 1))
        }
        Err(e) => {
            tracing::info!(job, id, error = %e, "job not applicable");
            Disposition::Done
        }
    }
}

/// The automatic issue of an async-confirmed order: decided as a success.
async fn issue(app: &App, order: &str) -> Disposition {
    let decided = busgate_domain::orders::decide_issue(app.store.as_ref(), order, true, None, None, app.clock.now()).await;
    settle_job(app, "automatic issue", order, decided.map(|d| d.callback_ids)).await
}

/// The automatic approval of an async refund.
async fn approve_refund(app: &App, refund_id: &str) -> Disposition {
    let decided = busgate_domain::orders::decide_refund(app.store.as_ref(), refund_id, true, None, app.clock.now()).await;
    settle_job(app, "automatic refund approval", refund_id, decided.map(|d| d.callback_ids)).await
}

/// One delivery attempt for a queue message.
pub async fn attempt(app: &App, partners: &dyn Partners, body: &str) -> Disposition {
    let callback_id = match QueueMessage::parse(body) {
        Some(QueueMessage::Deliver { callback_id }) => callback_id,
        Some(QueueMessage::Issue { issue_order }) => return issue(app, &issue_order).await,
        Some(QueueMessage::ApproveRefund { approve_refund: refund_id }) => return approve_refund(app, &refund_id).await,
        None => return Disposition::Dead(format!("not a delivery message: {}", body.chars().take(200).collect::<String>())),
    };
    let key = Callback::key(&callback_id);
    let item = match app.store.get(&key).await {
        Ok(Some(item)) => item,
        Ok(None) => return Disposition::Dead(format!("callback {callback_id} not found")),
        Err(e) => {
            tracing::warn!(error = %e, "store unavailable; retrying the callback later");
            return Disposition::RetryAfter(backoff_secs(app.config.retry.backoff_base_secs, 1));
        }
    };
    let Ok(mut cb) = item.decode::<Callback>() else {
        return Disposition::Dead(format!("callback {callback_id} unreadable"));
    };
    if cb.status != CallbackStatus::Pending {
        // Delivered (never twice) or dead (until replayed): nothing to send.
        return Disposition::Done;
    }
    let now = app.clock.now();
    let Sent { outcome, answer } = partners.send(&cb.destination, now).await;
    let disposition = cb.record_attempt(outcome, now, app.config.retry);
    let age = (now - cb.created_at).num_milliseconds() as f64 / 1000.0;
    metrics::callback(
        match disposition {
            Disposition::Done => "delivered",
            Disposition::RetryAfter(_) => "retry",
            Disposition::Dead(_) => "dead",
        },
        age,
    );
    tracing::info!(callback = %cb.id, subject = %cb.subject, attempts = cb.attempts, ?disposition, "callback attempt");
    if !matches!(disposition, Disposition::RetryAfter(_)) {
        crate::outbound::relation::after_final_outcome(app, &cb, &disposition, answer.as_deref(), now).await;
    }
    if let Err(e) = record(app, &cb, item.version).await {
        // The outcome stays unrecorded: a delivered callback could be sent again, which the
        // partner's idempotency (same ids, same serial) absorbs; never lose a pending one.
        tracing::error!(callback = %cb.id, error = %e, "callback outcome not recorded");
        if disposition == Disposition::Done {
            return Disposition::Done;
        }
        return Disposition::RetryAfter(backoff_secs(app.config.retry.backoff_base_secs, cb.attempts));
    }
    disposition
}

/// Applies a disposition on a queue (local mode's worker; the Lambda worker answers with
/// partial batch failures instead).
pub async fn settle(app: &App, msg: &Message, d: &Disposition) {
    let r = match d {
        Disposition::Done => app.queue.delete(Lane::Main, &msg.receipt).await,
        Disposition::RetryAfter(secs) => app.queue.retry_after(Lane::Main, &msg.receipt, *secs).await,
        // One dead-letter shape: the message itself, as SQS redrive would move it (the reason is
        // on the callback record).
        Disposition::Dead(_) => match app.queue.send(Lane::Dead, &msg.body, 0).await {
            Ok(()) => app.queue.delete(Lane::Main, &msg.receipt).await,
            Err(e) => Err(e),
        },
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "queue settle failed; the message will come back");
    }
}

/// Local mode's worker loop: receive, attempt, settle, forever.
pub async fn run_local_worker(app: App) {
    let partners = app.config.partners();
    loop {
        match app.queue.receive(Lane::Main, 10, 1).await {
            Ok(msgs) => {
                for m in msgs {
                    let d = attempt(&app, partners.as_ref(), &m.body).await;
                    settle(&app, &m, &d).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "queue receive failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Queues again the pending callbacks that are overdue by more than `grace` (committed but
/// never handed to the queue, or lost with a crashed worker). Returns how many.
pub async fn requeue_overdue(app: &App, grace: chrono::Duration) -> Result<usize, StoreError> {
    let now = app.clock.now();
    let mut n = 0;
    for item in app.store.query_index(Callback::index_pk(CallbackStatus::Pending), "").await? {
        let Ok(mut cb) = item.decode::<Callback>() else { continue };
        let due = cb.due_at.unwrap_or(cb.created_at);
        if due + grace > now {
            continue;
        }
        cb.due_at = Some(now);
        if record(app, &cb, item.version).await.is_ok() {
            app.dispatch(std::slice::from_ref(&cb.id)).await;
            n += 1;
        }
    }
    Ok(n)
}

/// What [`drain_dead_letters`] did with the dead-letter queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    /// Dead callbacks found there and put back in the queue.
    pub replayed: Vec<String>,
    /// Messages removed from the dead-letter queue.
    pub removed: usize,
    /// Jobs (automatic issue or refund) found there and queued again.
    pub jobs: usize,
    /// Messages left there (not asked for, or unreadable).
    pub left: usize,
}

/// Empties the dead-letter queue of the messages of `only` (every message when `None`): a
/// callback that is dead is replayed, a pending one (moved there by SQS redrive, never marked)
/// is queued again, a delivered one is just removed; a job is queued again. Without this the
/// DLQ (and its alarm) would keep messages whose callbacks were already replayed.
pub async fn drain_dead_letters(app: &App, only: Option<&std::collections::HashSet<String>>) -> Result<Drained, String> {
    let mut out = Drained::default();
    let mut keep = Vec::new();
    // Each receive hides what it returns, so the loop ends when every message was seen once.
    for _ in 0..1000 {
        let msgs = app.queue.receive(Lane::Dead, 10, 0).await.map_err(|e| e.to_string())?;
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            let message = QueueMessage::parse(&m.body);
            let wanted = match (&message, only) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(QueueMessage::Deliver { callback_id }), Some(ids)) => ids.contains(callback_id),
                (Some(_), Some(_)) => false,
            };
            if !wanted {
                keep.push(m.receipt);
                continue;
            }
            if let Some(QueueMessage::Deliver { callback_id }) = message {
                let item = app.store.get(&Callback::key(&callback_id)).await.map_err(|e| e.to_string())?;
                match item.map(|i| i.decode::<Callback>()) {
                    Some(Ok(cb)) if cb.status == CallbackStatus::Dead => out.replayed.extend(replay(app, &[cb.id]).await.map_err(|e| e.to_string())?),
                    Some(Ok(cb)) if cb.status == CallbackStatus::Pending => app.dispatch(&[cb.id]).await,
                    _ => {} // delivered, or gone: nothing owed
                }
            } else {
                app.queue.send(Lane::Main, &m.body, 0).await.map_err(|e| e.to_string())?;
                out.jobs += 1;
            }
            app.queue.delete(Lane::Dead, &m.receipt).await.map_err(|e| e.to_string())?;
            out.removed += 1;
        }
    }
    out.left = keep.len();
    for receipt in keep {
        let _ = app.queue.retry_after(Lane::Dead, &receipt, 0).await;
    }
    Ok(out)
}

/// Puts dead callbacks back in the queue (`busgate outbox replay`).
pub async fn replay(app: &App, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut replayed = Vec::new();
    for id in ids {
        let Some(item) = app.store.get(&Callback::key(id)).await? else { continue };
        let mut cb: Callback = item.decode()?;
        if cb.status != CallbackStatus::Dead {
            continue;
        }
        cb.status = CallbackStatus::Pending;
        cb.attempts = 0;
        cb.due_at = Some(app.clock.now());
        record(app, &cb, item.version).await?;
        app.dispatch(std::slice::from_ref(&cb.id)).await;
        replayed.push(cb.id);
    }
    Ok(replayed)
}
