//! Helpers shared by the integration and end-to-end tests.

use std::sync::Arc;

use busgate_adapters::{DynamoStore, SqsQueue};

/// Whether the emulators must be there (the test command sets this): then a missing emulator
/// fails the test instead of skipping it.
pub fn emulators_required() -> bool {
    std::env::var("BUSGATE_TEST_EMULATORS").is_ok_and(|v| v == "1")
}

fn emulator_endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(!emulators_required(), "{var} is not set but BUSGATE_TEST_EMULATORS=1: start infra/emulators.sh");
            eprintln!("skipping: {var} not set (run the suite with infra/test.sh to include the emulators)");
            None
        }
    }
}

/// A unique name for a table or queue, so tests run in parallel against one emulator.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// A fresh DynamoDB table on the emulator (DynamoDB Local), or None when not configured.
pub async fn emulator_store() -> Option<Arc<DynamoStore>> {
    emulator_endpoint("AWS_ENDPOINT_URL_DYNAMODB")?;
    let sdk = busgate_adapters::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), unique("busgate-test"));
    store.ensure_table().await.expect("create table on the emulator");
    Some(Arc::new(store))
}

/// A fresh SQS queue pair on the emulator (moto), or None when not configured.
pub async fn emulator_queue(visibility_secs: u32, max_receives: u32) -> Option<Arc<SqsQueue>> {
    emulator_endpoint("AWS_ENDPOINT_URL_SQS")?;
    let sdk = busgate_adapters::aws_config().await;
    let q = SqsQueue::create(aws_sdk_sqs::Client::new(&sdk), &unique("busgate-test"), visibility_secs, max_receives)
        .await
        .expect("create queues on the emulator");
    Some(Arc::new(q))
}

/// A fresh embedded store in a temporary directory (kept alive by the returned guard).
pub fn embedded_store() -> (Arc<busgate_adapters::EmbeddedStore>, TempDir) {
    let dir = TempDir::new();
    (Arc::new(busgate_adapters::EmbeddedStore::open(&dir.0).expect("open embedded store")), dir)
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(unique("busgate"));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
