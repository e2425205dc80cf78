//! Partner routes other than the bus: the collaboration callback and Fenbeitong notices.

use crate::app::App;
use crate::pipeline::{Inbound, Outbound};

pub async fn relation(app: &App, req: &Inbound) -> (Outbound, String) {
    let _ = (app, req);
    (Outbound { status: 503, body: b"{}".to_vec() }, "unavailable".into())
}

pub async fn fenbeitong(app: &App, req: &Inbound) -> (Outbound, String) {
    let _ = (app, req);
    (Outbound { status: 503, body: b"{}".to_vec() }, "unavailable".into())
}
