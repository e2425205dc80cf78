//! The case service as the tests drive it: the relation endpoint's path (bodies read and
//! answers rendered by `busgate_wire::relation`), and refusals as Fliggy reads them.

use busgate_domain::cases::CaseError;

/// The domain's case service as the relation endpoint drives it: bodies read and answers
/// rendered by `busgate_wire::relation`; everything else as it is.
pub mod cases {
    pub use busgate_domain::cases::*;
    use busgate_domain::store::Store;
    use busgate_wire::relation::{self, RelationAnswer};
    use chrono::{DateTime, Utc};

    pub async fn receive(store: &dyn Store, body: &[u8], now: DateTime<Utc>) -> RelationAnswer {
        relation::receive(store, body, now, &RelationConfig::default()).await
    }
}

/// A refusal as Fliggy reads it (`E_CODE: detail`).
pub trait Info {
    fn info(&self) -> String;
}

impl Info for CaseError {
    fn info(&self) -> String {
        busgate_wire::relation::error_info(self)
    }
}
