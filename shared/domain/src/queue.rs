//! The delivery queue port: at-least-once messages with a visibility timeout and a
//! dead-letter lane, shaped after SQS so that the in-process adapter behaves the same way.

use async_trait::async_trait;

/// The two lanes: work waiting to be delivered, and work that could not be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    Main,
    Dead,
}

/// A received message. `receipt` acknowledges or reschedules this receipt only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub body: String,
    pub receipt: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("unknown receipt")]
    UnknownReceipt,
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends a message, visible after `delay_secs` (at most 900, SQS's limit).
    async fn send(&self, lane: Lane, body: &str, delay_secs: u32) -> Result<(), QueueError>;
    /// Receives up to `max` visible messages, hiding each for the lane's visibility timeout;
    /// waits up to `wait_secs` for one to arrive.
    async fn receive(&self, lane: Lane, max: usize, wait_secs: u32) -> Result<Vec<Message>, QueueError>;
    /// Deletes a received message.
    async fn delete(&self, lane: Lane, receipt: &str) -> Result<(), QueueError>;
    /// Makes a received message visible again after `secs` (backoff).
    async fn retry_after(&self, lane: Lane, receipt: &str, secs: u32) -> Result<(), QueueError>;
}

#[async_trait]
impl<Q: Queue + ?Sized> Queue for std::sync::Arc<Q> {
    async fn send(&self, lane: Lane, body: &str, delay_secs: u32) -> Result<(), QueueError> {
        (**self).send(lane, body, delay_secs).await
    }
    async fn receive(&self, lane: Lane, max: usize, wait_secs: u32) -> Result<Vec<Message>, QueueError> {
        (**self).receive(lane, max, wait_secs).await
    }
    async fn delete(&self, lane: Lane, receipt: &str) -> Result<(), QueueError> {
        (**self).delete(lane, receipt).await
    }
    async fn retry_after(&self, lane: Lane, receipt: &str, secs: u32) -> Result<(), QueueError> {
        (**self).retry_after(lane, receipt, secs).await
    }
}
