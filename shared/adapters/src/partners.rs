//! The HTTP clients of Busgate's partners behind the domain's [`Partners`] port: Fliggy's TOP
//! API ([`top`]: callbacks and collaboration actions) and Fenbeitong's open API
//! ([`fenbeitong`]: decisions on notices). Each request is signed afresh at send time.

pub mod fenbeitong;
pub mod top;

use busgate_domain::cases;
use busgate_domain::outbox::{Destination, Partners, Sent};
use chrono::{DateTime, Utc};

pub use fenbeitong::FenbeitongApi;
pub use top::TopConfig;

const RELATION_METHOD: &str = "alitrip.serve.workorder.relation";

/// Both partners' clients over one connection pool.
pub struct PartnerClients {
    http: reqwest::Client,
    top: TopConfig,
    fenbeitong: FenbeitongApi,
}

impl PartnerClients {
    pub fn new(top: TopConfig, fenbeitong: FenbeitongApi) -> PartnerClients {
        PartnerClients { http: reqwest::Client::new(), top, fenbeitong }
    }

    /// A TOP call's business parameters completed with what must not be stored in the outbox
    /// (the relation API's `caller_info.app_secret`). Never log the result.
    fn complete_top_params(&self, method: &str, params: &[(String, String)]) -> Vec<(String, String)> {
        if method == RELATION_METHOD {
            return cases::fill_caller_info(params, &self.top.relation_app_name, self.top.relation_app_secret.expose());
        }
        params.to_vec()
    }
}

#[async_trait::async_trait]
impl Partners for PartnerClients {
    async fn send(&self, destination: &Destination, now: DateTime<Utc>) -> Sent {
        match destination {
            Destination::Top { method, params } => top::call(&self.http, &self.top, method, &self.complete_top_params(method, params), now).await,
            Destination::Bus { callback } => {
                let (method, params) = busgate_wire::callbacks::render(callback);
                top::call(&self.http, &self.top, method, &params, now).await
            }
            Destination::Fenbeitong { company, data } => {
                Sent { outcome: fenbeitong::send(&self.http, &self.fenbeitong, company, data, now).await, answer: None }
            }
        }
    }
}
