//! `POST /fenbeitong/notify/{token}`: Fenbeitong's refund/rebook notices.

use busgate_domain::notices;
use busgate_wire::fenbeitong;

use super::pipeline::{Inbound, Outbound};
use crate::app::App;

/// `POST /fenbeitong/notify/{token}` (partners.md decisions, §2.7): token (constant time),
/// media type, size, then strict intake that stores the raw body once before answering.
pub async fn notify(app: &App, req: &Inbound) -> (Outbound, String) {
    let token = req.path.rsplit('/').next().unwrap_or_default();
    let result = async {
        let tokens = app.fenbeitong_tokens().ok_or(notices::NoticeError::Unauthorized)?;
        let company = tokens.authorize(token)?.to_string();
        fenbeitong::check_content_type(req.header("content-type"))?;
        fenbeitong::receive(app.store.as_ref(), &company, &req.body, app.clock.now()).await
    }
    .await;
    let code = match &result {
        Ok(_) => "0".to_string(),
        Err(e) => fenbeitong::code(e).to_string(),
    };
    let response = fenbeitong::respond(&result, &req.request_id);
    (Outbound { status: response.status, body: response.body.into_bytes() }, code)
}
