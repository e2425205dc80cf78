//! The request pipeline shared by every Lambda and by local mode:
//! size limit → signature over the raw bytes → timestamp → `method` → strict JSON → the
//! interface's handler → the partner's envelope. Nothing here panics on input; every refusal
//! is an answer in the partner's own envelope.

use std::time::Instant;

use tracing::Instrument;

use busgate_signing::{check_timestamp, verify_spi_query, SpiRequest};
use busgate_wire::fliggy::{self, Failure, RetCode};
use busgate_wire::json::{parse_object, Fields};
use bytes::Bytes;

use crate::app::App;
use crate::inbound::routes::Route;
use crate::metrics;

/// A request as it arrived: raw query, headers as on the wire, raw body.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    pub path: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The client address (API Gateway's `sourceIp`, or the socket in local mode).
    pub source_ip: Option<String>,
    /// The request id for logs (Lambda's, or generated locally).
    pub request_id: String,
}

impl Inbound {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer: a status and a JSON body (always `application/json;charset=utf-8`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Outbound {
    pub fn ok(body: Vec<u8>) -> Self {
        Outbound { status: 200, body }
    }
    pub const CONTENT_TYPE: &'static str = "application/json;charset=utf-8";
}

/// Serves a request on the route its path names (local mode: one process, every route).
pub async fn handle_path(app: &App, req: Inbound) -> Outbound {
    match Route::from_path(&req.path) {
        Some((route, _)) => handle(app, route, req).await,
        None => Outbound { status: 404, body: br#"{"error":"no such route"}"#.to_vec() },
    }
}

/// Serves a request on `route`, whichever it is (local mode: one process, every route).
pub async fn handle(app: &App, route: Route, req: Inbound) -> Outbound {
    match route {
        Route::Relation => handle_relation(app, req).await,
        Route::FenbeitongNotify => handle_fenbeitong(app, req).await,
        Route::Bus(bus) => {
            let every: &Handler = &move |app, f| Box::pin(crate::inbound::bus::dispatch(app, bus, f));
            in_span(route, &req.request_id.clone(), bus_answer(app, route, &req, every)).await
        }
    }
}

/// Serves a request of one bus interface: the Lambda of `I` links `I`'s handler only.
pub async fn handle_bus<I: crate::inbound::bus::Interface>(app: &App, req: Inbound) -> Outbound {
    let route = Route::Bus(I::ROUTE);
    in_span(route, &req.request_id.clone(), bus_answer(app, route, &req, &I::call)).await
}

/// Serves the collaboration work order callback.
pub async fn handle_relation(app: &App, req: Inbound) -> Outbound {
    in_span(Route::Relation, &req.request_id.clone(), crate::inbound::relation::relation(app, &req)).await
}

/// Serves a Fenbeitong notice.
pub async fn handle_fenbeitong(app: &App, req: Inbound) -> Outbound {
    in_span(Route::FenbeitongNotify, &req.request_id.clone(), crate::inbound::fenbeitong::notify(app, &req)).await
}

/// Runs `answer` in the request's span, then logs and counts the outcome. The span follows the
/// future (`instrument`), never a guard held across an `.await`: a guard would leak into
/// whatever task the executor polls next on this thread.
async fn in_span(route: Route, request_id: &str, answer: impl std::future::Future<Output = (Outbound, String)>) -> Outbound {
    let span = tracing::info_span!("request", request_id = %request_id, interface = route.function());
    async {
        let started = Instant::now();
        let (out, code) = answer.await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(code = %code, status = out.status, ms, "answered");
        metrics::request(route.function(), &code, ms);
        out
    }
    .instrument(span)
    .await
}

/// What the pipeline calls once a bus request is verified and parsed.
type Handler = dyn for<'a> Fn(&'a App, Fields<'a>) -> crate::inbound::bus::BusFuture<'a> + Sync;

/// A bus request through the pipeline and `handler`, in the bus envelope.
async fn bus_answer(app: &App, route: Route, req: &Inbound, handler: &Handler) -> (Outbound, String) {
    let result = bus(app, route, req, handler).await;
    let code = match &result {
        Ok(_) => "0".to_string(),
        Err(Refusal::Sign(_)) => "sign-check-failure".to_string(),
        Err(Refusal::Envelope(f)) => f.code.code().to_string(),
    };
    let body = match result {
        Ok(data) => fliggy::success(&data),
        Err(Refusal::Sign(why)) => {
            tracing::warn!(reason = %why, "signature refused");
            fliggy::SIGN_FAILURE_BODY.as_bytes().to_vec()
        }
        Err(Refusal::Envelope(f)) => fliggy::failure(&f),
    };
    (Outbound::ok(body), code)
}

/// Why a bus request was refused before or by its handler.
enum Refusal {
    /// Signature failure: the exact sign-failure body.
    Sign(String),
    /// Any other refusal, in the bus envelope.
    Envelope(Failure),
}

impl From<Failure> for Refusal {
    fn from(f: Failure) -> Self {
        Refusal::Envelope(f)
    }
}

/// Verifies a Qimen-signed request (size, signature, timestamp) and returns its query map.
/// Shared by the bus routes and the relation callback.
pub fn verify_qimen(app: &App, req: &Inbound) -> Result<std::collections::BTreeMap<String, String>, QimenRefusal> {
    if req.body.len() > app.config.inbound.max_body_bytes {
        return Err(QimenRefusal::TooLarge);
    }
    let spi = SpiRequest { raw_query: &req.raw_query, headers: &req.headers, content_type: req.header("content-type"), body: &req.body };
    let query = verify_spi_query(&spi, app.config.inbound.qimen_secret.expose()).map_err(|e| QimenRefusal::Sign(e.to_string()))?;
    check_timestamp(query.get("timestamp").map(String::as_str), app.clock.now(), app.config.inbound.timestamp_window_secs)
        .map_err(|e| QimenRefusal::Timestamp(e.to_string()))?;
    Ok(query)
}

/// Why [`verify_qimen`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QimenRefusal {
    TooLarge,
    Sign(String),
    Timestamp(String),
}

/// Whether a Content-Type is JSON, the one media type bus routes take (§2.1 step 2): the
/// media type compared case-insensitively, parameters (a charset) allowed.
pub fn is_json_media_type(content_type: Option<&str>) -> bool {
    let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
}

async fn bus(app: &App, route: Route, req: &Inbound, handler: &Handler) -> Result<fliggy::Data, Refusal> {
    // A form body would verify over its decoded fields and then be parsed as raw JSON: only
    // JSON is taken, so the bytes parsed are the bytes signed.
    if req.body.len() > app.config.inbound.max_body_bytes {
        return Err(Failure::plain(RetCode::BodyTooLarge).into());
    }
    let content_type = req.header("content-type");
    if !is_json_media_type(content_type) {
        return Err(Refusal::Sign(format!("unsupported content type `{}` (bus routes take application/json)", content_type.unwrap_or(""))));
    }
    let query = verify_qimen(app, req).map_err(|r| match r {
        QimenRefusal::TooLarge => Refusal::Envelope(Failure::plain(RetCode::BodyTooLarge)),
        QimenRefusal::Sign(why) => Refusal::Sign(why),
        QimenRefusal::Timestamp(why) => {
            tracing::info!(reason = %why, "timestamp refused");
            Refusal::Envelope(Failure::plain(RetCode::TimestampExpired))
        }
    })?;
    // The path is not signed: the signed `method` binds the request to its route (§2.1 step 4).
    let expected = app.config.expected_method(route).unwrap_or_default();
    let method = query.get("method").map(String::as_str);
    if method != Some(expected) {
        let got = method.unwrap_or("<none>");
        tracing::warn!(method = got, expected, strict = app.config.inbound.strict_method, "method does not match the route");
        metrics::method_mismatch(route.function());
        if app.config.inbound.strict_method {
            return Err(Failure::invalid(format!("method: expected {expected}, got {got}")).into());
        }
    }
    let map = parse_object(&req.body).map_err(Failure::from)?;
    let fields = Fields::new(&map);
    handler(app, fields).await.map_err(Refusal::Envelope)
}
