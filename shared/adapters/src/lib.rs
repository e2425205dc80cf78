//! Adapters of the domain's ports: DynamoDB and SQS in AWS, redb and an in-process queue in
//! local mode, and the HTTP clients Busgate uses to call its partners.

pub mod aws;
pub mod dynamo;
pub mod embedded;
pub mod memqueue;
pub mod partners;
pub mod sqs;

pub use aws::aws_config;

/// An error with its whole source chain (the SDK's own Display says only "service error").
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
pub use dynamo::DynamoStore;
pub use embedded::EmbeddedStore;
pub use memqueue::{InProcessQueue, NoQueue};
pub use sqs::SqsQueue;
