//! The dependencies a handler needs, built once per process (Lambda init or local mode).

use std::sync::Arc;

use busgate_domain::outbox::QueueMessage;
use busgate_domain::queue::{Lane, Queue};
use busgate_domain::store::Store;
use busgate_domain::{Clock, SystemClock};

use crate::config::Config;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// The Fenbeitong tokens, parsed once (on first use) instead of on every notice.
    fenbeitong_tokens: Arc<std::sync::OnceLock<Option<busgate_domain::notices::Tokens>>>,
    /// Departures as this process last read them: a warm sale is one store round trip.
    pub departures: Arc<busgate_domain::catalogue::DepartureCache>,
    /// The order settings (§2.2), from the configuration's `sales` section once, at init.
    pub orders: Arc<busgate_domain::orders::Settings>,
}

impl App {
    pub fn new(config: Config, store: Arc<dyn Store>, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> App {
        let departures: Arc<busgate_domain::catalogue::DepartureCache> = Arc::default();
        let orders = Arc::new(config.sales.order_settings(departures.clone()));
        App { config: Arc::new(config), store, queue, clock, fenbeitong_tokens: Arc::default(), departures, orders }
    }

    /// The same dependencies with another queue (a test's failing queue, say).
    pub fn with_queue(&self, queue: Arc<dyn Queue>) -> App {
        App { queue, ..self.clone() }
    }

    /// The configured Fenbeitong tokens; `None` when `BUSGATE_FENBEITONG_TOKENS` is invalid
    /// (init refuses that where the tokens are required; here every notice is refused).
    pub fn fenbeitong_tokens(&self) -> Option<&busgate_domain::notices::Tokens> {
        self.fenbeitong_tokens
            .get_or_init(|| match busgate_domain::notices::Tokens::parse(self.config.fenbeitong.tokens.expose()) {
                Ok(tokens) => Some(tokens),
                Err(e) => {
                    tracing::error!(error = %e, "BUSGATE_FENBEITONG_TOKENS is invalid; refusing every notice");
                    None
                }
            })
            .as_ref()
    }

    /// The AWS wiring from the operator's machine (aws-config's default chains): DynamoDB
    /// table and SQS queues named by the configuration.
    pub async fn aws(config: Config) -> App {
        App::aws_on(&busgate_adapters::aws_config().await, config)
    }

    /// The AWS wiring of a Lambda function, configured from its environment alone.
    pub fn aws_function(config: Config) -> App {
        App::aws_on(&busgate_adapters::aws::function_config(), config)
    }

    fn aws_on(sdk: &busgate_adapters::aws::SdkConfig, config: Config) -> App {
        let (store, queue) = busgate_adapters::aws::connect(sdk, &config.aws.table, &config.aws.queue_url, &config.aws.dlq_url);
        App::new(config, Arc::new(store), Arc::new(queue), Arc::new(SystemClock))
    }

    /// The AWS wiring of a function that never sends to the queue (a catalogue read): the
    /// table only, so the function links no SQS client.
    pub fn aws_reader(config: Config) -> App {
        let store = busgate_adapters::aws::connect_store(&busgate_adapters::aws::function_config(), &config.aws.table);
        App::new(config, Arc::new(store), Arc::new(busgate_adapters::NoQueue), Arc::new(SystemClock))
    }

    /// Queues the automatic issue of an order confirmed in async mode.
    pub async fn queue_issue(&self, alitrip_order_id: &str) {
        let body = QueueMessage::Issue { issue_order: alitrip_order_id.to_string() }.body();
        if let Err(e) = self.queue.send(Lane::Main, &body, self.config.sales.auto_issue_delay_secs).await {
            tracing::warn!(order = %alitrip_order_id, error = %e, "issue job not queued; the deadline will fail the order");
        }
    }

    /// Queues the automatic approval of a refund accepted in async mode.
    pub async fn queue_refund(&self, refund_id: &str) {
        let body = QueueMessage::ApproveRefund { approve_refund: refund_id.to_string() }.body();
        if let Err(e) = self.queue.send(Lane::Main, &body, self.config.sales.auto_refund_delay_secs).await {
            tracing::warn!(refund = %refund_id, error = %e, "refund job not queued; the sweeper approves it at its deadline");
        }
    }

    /// Hands committed callbacks to the delivery queue. A failure here loses nothing: the
    /// callback is pending in the store and the sweeper queues it again.
    pub async fn dispatch(&self, callback_ids: &[String]) {
        for id in callback_ids {
            let body = QueueMessage::Deliver { callback_id: id.clone() }.body();
            if let Err(e) = self.queue.send(Lane::Main, &body, 0).await {
                tracing::warn!(callback = %id, error = %e, "callback not queued; the sweeper will queue it");
            }
        }
    }
}
