//! The in-process delivery queue of local mode and tests. It behaves like SQS where Busgate
//! depends on it: a received message is hidden for the visibility timeout and comes back if
//! not deleted; after `max_receives` receives it moves to the dead lane (redrive).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use busgate_domain::queue::{Lane, Message, Queue, QueueError};
use tokio::sync::Notify;

struct Entry {
    id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

#[derive(Default)]
struct Lanes {
    main: VecDeque<Entry>,
    dead: VecDeque<Entry>,
    next: u64,
}

impl Lanes {
    fn lane(&mut self, lane: Lane) -> &mut VecDeque<Entry> {
        match lane {
            Lane::Main => &mut self.main,
            Lane::Dead => &mut self.dead,
        }
    }
}

pub struct InProcessQueue {
    lanes: Mutex<Lanes>,
    visibility: Duration,
    max_receives: u32,
    arrived: Notify,
}

impl InProcessQueue {
    pub fn new(visibility: Duration, max_receives: u32) -> Self {
        InProcessQueue { lanes: Mutex::default(), visibility, max_receives, arrived: Notify::new() }
    }

    /// Messages in a lane (visible or not), for `busgate outbox list` and tests.
    pub fn depth(&self, lane: Lane) -> usize {
        self.lanes.lock().expect("queue lock").lane(lane).len()
    }

    fn take_visible(&self, lane: Lane, max: usize) -> Vec<Message> {
        let mut lanes = self.lanes.lock().expect("queue lock");
        let now = Instant::now();
        // Redrive: a message received too often goes to the dead lane, as SQS does.
        if lane == Lane::Main {
            let mut keep = VecDeque::new();
            while let Some(e) = lanes.main.pop_front() {
                if e.visible_at <= now && e.receive_count >= self.max_receives {
                    lanes.dead.push_back(Entry { receipt: None, receive_count: 0, ..e });
                } else {
                    keep.push_back(e);
                }
            }
            lanes.main = keep;
        }
        let mut out = Vec::new();
        let mut next = lanes.next;
        for e in lanes.lane(lane).iter_mut() {
            if out.len() >= max {
                break;
            }
            if e.visible_at <= now {
                next += 1;
                let receipt = format!("{}#{next}", e.id);
                e.receive_count += 1;
                e.visible_at = now + self.visibility;
                e.receipt = Some(receipt.clone());
                out.push(Message { id: e.id.clone(), body: e.body.clone(), receipt, receive_count: e.receive_count });
            }
        }
        lanes.next = next;
        out
    }
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn send(&self, lane: Lane, body: &str, delay_secs: u32) -> Result<(), QueueError> {
        {
            let mut lanes = self.lanes.lock().expect("queue lock");
            lanes.next += 1;
            let id = format!("m{}", lanes.next);
            let visible_at = Instant::now() + Duration::from_secs(delay_secs.min(900) as u64);
            lanes.lane(lane).push_back(Entry { id, body: body.to_string(), visible_at, receive_count: 0, receipt: None });
        }
        self.arrived.notify_waiters();
        Ok(())
    }

    async fn receive(&self, lane: Lane, max: usize, wait_secs: u32) -> Result<Vec<Message>, QueueError> {
        let deadline = Instant::now() + Duration::from_secs(wait_secs as u64);
        loop {
            let got = self.take_visible(lane, max.max(1));
            if !got.is_empty() || Instant::now() >= deadline {
                return Ok(got);
            }
            // Wake on a new message, or poll again shortly for delayed ones becoming visible.
            let _ = tokio::time::timeout(Duration::from_millis(50), self.arrived.notified()).await;
        }
    }

    async fn delete(&self, lane: Lane, receipt: &str) -> Result<(), QueueError> {
        let mut lanes = self.lanes.lock().expect("queue lock");
        let q = lanes.lane(lane);
        let pos = q.iter().position(|e| e.receipt.as_deref() == Some(receipt)).ok_or(QueueError::UnknownReceipt)?;
        q.remove(pos);
        Ok(())
    }

    async fn retry_after(&self, lane: Lane, receipt: &str, secs: u32) -> Result<(), QueueError> {
        let mut lanes = self.lanes.lock().expect("queue lock");
        let e = lanes.lane(lane).iter_mut().find(|e| e.receipt.as_deref() == Some(receipt)).ok_or(QueueError::UnknownReceipt)?;
        e.visible_at = Instant::now() + Duration::from_secs(secs as u64);
        Ok(())
    }
}

/// The queue of a function that never sends (a catalogue read): every call fails, so a wiring
/// mistake shows as an error, never as a lost message.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueue;

#[async_trait::async_trait]
impl Queue for NoQueue {
    async fn send(&self, _: Lane, _: &str, _: u32) -> Result<(), QueueError> {
        Err(QueueError::Unavailable("this function has no queue".into()))
    }
    async fn receive(&self, _: Lane, _: usize, _: u32) -> Result<Vec<Message>, QueueError> {
        Err(QueueError::Unavailable("this function has no queue".into()))
    }
    async fn delete(&self, _: Lane, _: &str) -> Result<(), QueueError> {
        Err(QueueError::Unavailable("this function has no queue".into()))
    }
    async fn retry_after(&self, _: Lane, _: &str, _: u32) -> Result<(), QueueError> {
        Err(QueueError::Unavailable("this function has no queue".into()))
    }
}
