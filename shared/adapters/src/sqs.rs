//! The production delivery queue: an SQS queue and its dead-letter queue.

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sdk_sqs::Client;
use busgate_domain::queue::{Lane, Message, Queue, QueueError};

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    main_url: String,
    dead_url: String,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug + 'static>(e: aws_sdk_sqs::error::SdkError<E, R>) -> QueueError {
    QueueError::Unavailable(crate::error_chain(&e))
}

impl SqsQueue {
    pub fn new(client: Client, main_url: impl Into<String>, dead_url: impl Into<String>) -> Self {
        SqsQueue { client, main_url: main_url.into(), dead_url: dead_url.into() }
    }

    /// (main queue URL, dead-letter queue URL).
    pub fn urls(&self) -> (&str, &str) {
        (&self.main_url, &self.dead_url)
    }

    fn url(&self, lane: Lane) -> &str {
        match lane {
            Lane::Main => &self.main_url,
            Lane::Dead => &self.dead_url,
        }
    }

    /// Creates a queue pair (`name` and `name-dlq`, redrive after `max_receives`) and returns
    /// the adapter (tests and emulators; in AWS the SAM template owns the queues).
    pub async fn create(client: Client, name: &str, visibility_secs: u32, max_receives: u32) -> Result<Self, QueueError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let dead = client.create_queue().queue_name(format!("{name}-dlq")).send().await.map_err(unavailable)?;
        let dead_url = dead.queue_url().unwrap_or_default().to_string();
        let attrs = client.get_queue_attributes().queue_url(&dead_url).attribute_names(A::QueueArn).send().await.map_err(unavailable)?;
        let dead_arn = attrs.attributes().and_then(|a| a.get(&A::QueueArn)).cloned().unwrap_or_default();
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":"{max_receives}"}}"#);
        let main = client
            .create_queue()
            .queue_name(name)
            .attributes(A::VisibilityTimeout, visibility_secs.to_string())
            .attributes(A::RedrivePolicy, redrive)
            .send()
            .await
            .map_err(unavailable)?;
        let main_url = main.queue_url().unwrap_or_default().to_string();
        Ok(SqsQueue::new(client, main_url, dead_url))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, lane: Lane, body: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(self.url(lane))
            .message_body(body)
            .delay_seconds(delay_secs.min(900) as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn receive(&self, lane: Lane, max: usize, wait_secs: u32) -> Result<Vec<Message>, QueueError> {
        let r = self
            .client
            .receive_message()
            .queue_url(self.url(lane))
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait_secs.min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(r.messages()
            .iter()
            .map(|m| Message {
                id: m.message_id().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }

    async fn delete(&self, lane: Lane, receipt: &str) -> Result<(), QueueError> {
        self.client.delete_message().queue_url(self.url(lane)).receipt_handle(receipt).send().await.map(|_| ()).map_err(unavailable)
    }

    async fn retry_after(&self, lane: Lane, receipt: &str, secs: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(self.url(lane))
            .receipt_handle(receipt)
            .visibility_timeout(secs.min(43_200) as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
