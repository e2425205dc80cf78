//! The HTTP clients of Busgate's partners behind the domain's [`Partners`] port: Fliggy's TOP
//! API ([`top`]: callbacks and collaboration actions) and Fenbeitong's open API
//! ([`fenbeitong`]: decisions on notices). Each request is signed afresh at send time.

pub mod fenbeitong;
pub mod top;

use busgate_domain::outbox::{Destination, Partners, Sent};
use busgate_wire::callbacks::{partner_call, PartnerCall};
use chrono::{DateTime, Utc};

pub use fenbeitong::FenbeitongApi;
pub use top::TopConfig;

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
        if method == busgate_wire::relation::RELATION_METHOD {
            return busgate_wire::relation::fill_caller_info(params, &self.top.relation_app_name, self.top.relation_app_secret.expose());
        }
        params.to_vec()
    }
}

#[async_trait::async_trait]
impl Partners for PartnerClients {
    async fn send(&self, destination: &Destination, now: DateTime<Utc>) -> Sent {
        match partner_call(destination) {
            PartnerCall::Top { method, params } => top::call(&self.http, &self.top, &method, &self.complete_top_params(&method, &params), now).await,
            PartnerCall::Fenbeitong { company, path, data } => {
                Sent { outcome: fenbeitong::send(&self.http, &self.fenbeitong, company, path, &data, now).await, answer: None }
            }
        }
    }
}
