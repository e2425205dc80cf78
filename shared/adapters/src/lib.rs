//! Adapters of the domain's ports: DynamoDB and SQS in AWS, redb and an in-process queue in
//! local mode, and the HTTP clients Busgate uses to call its partners.

pub mod aws;
pub mod dynamo;
pub mod embedded;
pub mod memqueue;
pub mod sqs;

pub use aws::aws_config;
pub use dynamo::DynamoStore;
pub use embedded::EmbeddedStore;
pub use memqueue::InProcessQueue;
pub use sqs::SqsQueue;
