//! The operator console: the back office as server-rendered web pages (zh-CN), at `/console/`.
//!
//! It has no logic of its own. Pages read through [`crate::views`] and the domain's listings;
//! every button runs an [`AdminCommand`] through [`crate::execute`], the same code path as the
//! `busgate` commands, and logs it with the operator's name.
//!
//! * Who: local mode serves it to loopback callers only, as one operator ([`SignIn::Local`]).
//!   On AWS the HTTP API's JWT authorizer (Cognito) lets only signed-in staff through, and the
//!   operator is the name in the token's claims ([`SignIn::Claims`]).
//! * Safe by default: maud escapes every value printed (names come from Fliggy and
//!   Fenbeitong); every POST carries a CSRF token that must equal its cookie (double submit)
//!   and, when the browser says where it comes from, come from this origin; ID numbers and
//!   phones are masked, and a full ID number is shown only after an explicit, logged "reveal";
//!   a strict Content-Security-Policy (scripts and styles from `/console/assets/` only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use busgate_domain::cases::{self, CaseSummary};
use busgate_domain::notices::{self, NoticeRecord};
use busgate_domain::orders::{self, fen_to_yuan, Order, TicketStatus};
use busgate_domain::outbox::{Callback, CallbackStatus, Destination};
use busgate_edge::App;
use busgate_wire::orders as orders_wire;
use maud::{html, Markup, DOCTYPE};

use crate::views::{self, mask_id, mask_phone, DepartureRow, SaleLabel};
use crate::{execute, local_time, AdminCommand};

/// How the console knows who is acting.
#[derive(Clone)]
pub enum SignIn {
    /// Local mode: loopback callers only (the router's caller enforces it), all as this operator.
    Local { operator: String },
    /// On AWS: the HTTP API's JWT authorizer lets only requests with a valid Cognito ID token
    /// through, and the operator's name is read from its claims. A browser cannot put a token
    /// on a plain navigation, so `/console/sign-in` (open) signs the operator in against the
    /// user pool from the page, and `console.js` then loads every page and sends every form
    /// with the token in the `Authorization` header (the token stays in the tab's session
    /// storage, never in a page).
    Cognito {
        /// The Cognito Identity Provider endpoint (`https://cognito-idp.<region>.amazonaws.com/`).
        endpoint: String,
        /// The user pool's app client (public: no client secret).
        client_id: String,
        operator_of: OperatorOf,
    },
}

/// Reads the signed-in operator's name from a request (see [`SignIn::Cognito`]).
pub type OperatorOf = Arc<dyn Fn(&axum::http::request::Parts) -> Option<String> + Send + Sync>;

impl SignIn {
    fn secure_cookies(&self) -> bool {
        matches!(self, SignIn::Cognito { .. })
    }

    fn csp(&self) -> String {
        let connect = match self {
            SignIn::Local { .. } => String::new(),
            SignIn::Cognito { endpoint, .. } => format!(" {}", endpoint.trim_end_matches('/')),
        };
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'{connect}; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

#[derive(Clone)]
struct Console {
    app: App,
    sign_in: SignIn,
}

/// The console's routes, all under `/console/`.
pub fn router(app: App, sign_in: SignIn) -> Router {
    let state = Console { app, sign_in };
    Router::new()
        // The home page at both: API Gateway routes `/console` (a greedy `/console/{proxy+}`
        // needs something after the slash).
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/today", get(today))
        .route("/console/departures/{id}/stop", post(stop_departure))
        .route("/console/departures/{id}/resume", post(resume_departure))
        .route("/console/orders", get(orders_page))
        .route("/console/orders/{id}", get(order_page))
        .route("/console/orders/{id}/reveal", post(reveal))
        .route("/console/work", get(work))
        .route("/console/issues/{id}/decide", post(decide_issue))
        .route("/console/refunds/{id}/decide", post(decide_refund))
        .route("/console/cases/{id}/send", post(send_case))
        .route("/console/notices/{id}/decide", post(decide_notice))
        .route("/console/callbacks/replay", post(replay))
        .route("/console/catalogue", get(catalogue_page).post(catalogue_upload).layer(DefaultBodyLimit::max(crate::MAX_ADMIN_REQUEST_BYTES)))
        .route("/console/catalogue/export", get(catalogue_export))
        .route("/console/health", get(health_page))
        .route("/console/sign-in", get(sign_in_page))
        .route("/console/assets/console.css", get(|| async { asset("text/css; charset=utf-8", include_str!("../assets/console.css")) }))
        .route("/console/assets/console.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("../assets/console.js")) }))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=300")], body).into_response()
}

// ---------------------------------------------------------------------------------------
// Who is acting, and the CSRF token of their browser.

const CSRF_COOKIE: &str = "busgate_csrf";
const FLASH_COOKIE: &str = "busgate_flash";

/// One request's operator and CSRF token (a new token is set as a cookie when the browser has
/// none).
struct Session {
    operator: String,
    csrf: String,
    new_csrf: bool,
    secure: bool,
    flash: Option<(bool, String)>,
    csp: String,
    /// Pages are loaded by console.js with the operator's token (see [`SignIn::Cognito`]).
    cognito: bool,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromRequestParts<Console> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &Console) -> Result<Self, Self::Rejection> {
        let operator = match &state.sign_in {
            SignIn::Local { operator } => Some(operator.clone()),
            SignIn::Cognito { operator_of, .. } => operator_of(parts),
        };
        let Some(operator) = operator.filter(|o| !o.trim().is_empty()) else {
            return Err((StatusCode::UNAUTHORIZED, "sign in to use the console").into_response());
        };
        let existing = cookie(&parts.headers, CSRF_COOKIE).filter(|t| t.len() == 48 && t.bytes().all(|b| b.is_ascii_hexdigit()));
        let (csrf, new_csrf) = match existing {
            Some(t) => (t.to_string(), false),
            None => (new_token(), true),
        };
        let flash = cookie(&parts.headers, FLASH_COOKIE).and_then(|v| {
            let text = percent_decode(v);
            let (kind, msg) = text.split_once(':')?;
            Some((kind == "ok", msg.to_string()))
        });
        Ok(Session {
            operator,
            csrf,
            new_csrf,
            secure: state.sign_in.secure_cookies(),
            flash,
            csp: state.sign_in.csp(),
            cognito: matches!(state.sign_in, SignIn::Cognito { .. }),
        })
    }
}

fn percent_decode(v: &str) -> String {
    percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned()
}

fn percent_encode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Session {
    fn cookie_attrs(&self) -> &'static str {
        if self.secure {
            "; Path=/console; HttpOnly; SameSite=Strict; Secure"
        } else {
            "; Path=/console; HttpOnly; SameSite=Strict"
        }
    }

    /// A page, with the cookies this request needs.
    fn page(&self, markup: Markup) -> Response {
        let mut resp = html_response(markup, &self.csp);
        if self.new_csrf {
            set_cookie(&mut resp, &format!("{CSRF_COOKIE}={}{}", self.csrf, self.cookie_attrs()));
        }
        if self.flash.is_some() {
            set_cookie(&mut resp, &format!("{FLASH_COOKIE}=; Max-Age=0{}", self.cookie_attrs()));
        }
        resp
    }

    /// After an action: back to `to` (a console path), with its outcome shown there once.
    fn done(&self, to: &str, outcome: Result<String, String>) -> Response {
        let to = if to.starts_with("/console/") && !to.starts_with("/console//") { to } else { "/console" };
        let value = match &outcome {
            Ok(m) => format!("ok:{m}"),
            Err(e) => format!("err:{e}"),
        };
        // Cookies stay small: a long report is cut (the CLI and the page it returns to show more).
        let value: String = value.chars().take(600).collect();
        let mut resp = Redirect::to(to).into_response();
        set_cookie(&mut resp, &format!("{FLASH_COOKIE}={}{}", percent_encode(&value), self.cookie_attrs()));
        resp
    }
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn html_response(markup: Markup, csp: &str) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A state-changing request must carry the browser's CSRF token, and must not come from
/// another site (when the browser says where it comes from).
fn csrf_refusal(headers: &HeaderMap, form_token: Option<&str>) -> Option<Response> {
    let refuse = |why: &str| {
        tracing::warn!(why, "console: request refused (CSRF)");
        Some((StatusCode::FORBIDDEN, format!("refused: {why}; reload the page and try again")).into_response())
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return refuse("the request comes from another site");
        }
    }
    if let (Some(origin), Some(host)) =
        (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST).and_then(|v| v.to_str().ok()))
    {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin != "null" && origin_host != host {
            return refuse("the request comes from another origin");
        }
    }
    let Some(cookie_token) = cookie(headers, CSRF_COOKIE) else { return refuse("no CSRF cookie") };
    let Some(form_token) = form_token else { return refuse("no CSRF token") };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(cookie_token.as_bytes(), form_token.as_bytes())) || cookie_token.is_empty() {
        return refuse("CSRF token mismatch");
    }
    None
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

/// Runs one command as `operator`, logging who did what and how it ended.
async fn run(app: &App, operator: &str, action: &str, target: &str, cmd: AdminCommand) -> Result<String, String> {
    let out = execute(app, cmd, &|_, _| {}).await;
    match &out {
        Ok(_) => tracing::info!(operator, action, target, "console: done"),
        Err(e) => tracing::warn!(operator, action, target, error = %e, "console: failed"),
    }
    out.map(|o| o.text)
}

// ---------------------------------------------------------------------------------------
// Layout and small pieces.

fn layout(s: &Session, title: &str, nav: &str, body: Markup) -> Markup {
    let item = |href: &str, key: &str, label: &str| html! { a href=(href) class=[(nav == key).then_some("active")] { (label) } };
    html! {
        (DOCTYPE)
        html lang="zh-CN" data-auth=[s.cognito.then_some("cognito")] {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Busgate 运营后台" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header {
                    a.brand href="/console" { "Busgate 运营后台" }
                    nav {
                        (item("/console/today", "today", "今日班次"))
                        (item("/console/orders", "orders", "订单"))
                        (item("/console/work", "work", "待办"))
                        (item("/console/catalogue", "catalogue", "班次目录"))
                        (item("/console/health", "health", "回调健康"))
                    }
                    span.operator { "操作员:" (s.operator) }
                }
                main {
                    @if let Some((ok, msg)) = &s.flash {
                        div class=(if *ok { "flash ok" } else { "flash err" }) role="status" { pre { (msg) } }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// The two forms of a decision posted to `action`: go ahead (`field=1`), or refuse with a
/// reason (`field=0`).
fn decision_forms(s: &Session, action: &str, field: &str, yes: &str, no: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(s)) input type="hidden" name=(field) value="1";
            button type="submit" { (yes) }
        }
        form.inline method="post" action=(action) {
            (csrf_field(s)) input type="hidden" name=(field) value="0";
            input type="text" name="reason" required placeholder="拒绝原因" aria-label="拒绝原因";
            button.danger type="submit" { (no) }
        }
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}", fen_to_yuan(fen))
}

fn sale_label(l: SaleLabel) -> (&'static str, &'static str) {
    match l {
        SaleLabel::OnSale => ("在售", "good"),
        SaleLabel::Stopped => ("已停售", "bad"),
        SaleLabel::NotYetOpen => ("未开售", "muted"),
        SaleLabel::Closed => ("已截止", "muted"),
    }
}

fn ticket_label(t: TicketStatus) -> &'static str {
    match t {
        TicketStatus::Pending => "出票中",
        TicketStatus::Issued => "已出票",
        TicketStatus::NoTicket => "无票",
        TicketStatus::Refunding => "退票中",
        TicketStatus::Refunded => "已退票",
        TicketStatus::RefundFailed => "退票失败",
    }
}

fn callback_label(s: CallbackStatus) -> (&'static str, &'static str) {
    match s {
        CallbackStatus::Pending => ("待投递", "muted"),
        CallbackStatus::Delivered => ("已送达", "good"),
        CallbackStatus::Dead => ("死信", "bad"),
    }
}

fn destination(d: &Destination) -> String {
    match d {
        Destination::Top { method, .. } => method.clone(),
        Destination::Bus { callback } => busgate_wire::callbacks::method(callback).to_string(),
        Destination::Case { .. } => busgate_wire::relation::RELATION_METHOD.to_string(),
        Destination::Fenbeitong { company, .. } | Destination::FenbeitongDecision { company, .. } => format!("分贝通 {company}"),
    }
}

fn order_link(alitrip_order_id: &str, agent_order_id: &str) -> Markup {
    html! { a href=(format!("/console/orders/{agent_order_id}")) { (alitrip_order_id) } }
}

fn error_page(s: &Session, status: StatusCode, title: &str, msg: &str) -> Response {
    let mut r = s.page(layout(s, title, "", html! { p.error { (msg) } }));
    *r.status_mut() = status;
    r
}

// ---------------------------------------------------------------------------------------
// Pages.

/// The work lists, read once for the home page counts and the work page.
struct WorkLists {
    issues: Vec<Order>,
    refunds: Vec<(Order, orders::Refund)>,
    cases: Vec<CaseSummary>,
    notices: Vec<NoticeRecord>,
    dead: Vec<Callback>,
}

async fn work_lists(app: &App) -> Result<WorkLists, String> {
    let store = app.store.as_ref();
    let issues = orders::list_issuing(store).await.map_err(|e| e.to_string())?;
    let mut refunds = Vec::new();
    for p in orders::list_pending_refunds(store).await.map_err(|e| e.to_string())? {
        if let Some(o) = orders::get_order(store, &p.alitrip_order_id).await.map_err(|e| e.to_string())? {
            if let Some(r) = o.refund(&p.refund_id).cloned() {
                refunds.push((o, r));
            }
        }
    }
    let cases = cases::list(store, true, None).await.map_err(|e| e.to_string())?;
    let notices = notices::list(store, true).await.map_err(|e| e.to_string())?;
    let dead = views::callbacks_with(store, CallbackStatus::Dead).await?;
    Ok(WorkLists { issues, refunds, cases, notices, dead })
}

async fn home(State(c): State<Console>, s: Session) -> Response {
    let (lists, health) = match (work_lists(&c.app).await, views::health(c.app.store.as_ref(), c.app.clock.now()).await) {
        (Ok(l), Ok(h)) => (l, h),
        (Err(e), _) | (_, Err(e)) => return error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "首页", &format!("存储不可用:{e}")),
    };
    let tile = |href: &str, label: &str, n: usize, id: &str| {
        html! { a.tile href=(href) class=[(n > 0).then_some("due")] { span.count id=(id) { (n) } span { (label) } } }
    };
    let body = html! {
        section.tiles {
            (tile("/console/work#issues", "待出票", lists.issues.len(), "count-issues"))
            (tile("/console/work#refunds", "待审核退票", lists.refunds.len(), "count-refunds"))
            (tile("/console/work#cases", "未结协同工单", lists.cases.len(), "count-cases"))
            (tile("/console/work#notices", "待审批分贝通通知", lists.notices.len(), "count-notices"))
            (tile("/console/work#dead", "死信回调", lists.dead.len(), "count-dead"))
        }
        section {
            h2 { "回调" }
            p { "待投递 " (health.pending) " 条(逾期 " (health.overdue) " 条),死信 " (health.dead) " 条。" a href="/console/health" { "查看详情" } }
        }
        section {
            h2 { "查找订单" }
            (search_form("", ""))
        }
    };
    s.page(layout(&s, "首页", "", body))
}

fn search_form(q: &str, date: &str) -> Markup {
    html! {
        form.search method="get" action="/console/orders" {
            input type="search" name="q" value=(q) placeholder="飞猪订单号 / Busgate 订单号 / 乘客姓名 / 手机号" aria-label="搜索";
            input type="date" name="date" value=(date) aria-label="下单日期";
            button type="submit" { "搜索" }
        }
    }
}

async fn today(State(c): State<Console>, s: Session) -> Response {
    let now = c.app.clock.now();
    let days = views::today_and_tomorrow(now);
    let rows = match views::departures_on(c.app.store.as_ref(), &days, now).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "今日班次", &format!("存储不可用:{e}")),
    };
    let body = html! {
        @for (i, day) in days.iter().enumerate() {
            section {
                h2 { (if i == 0 { "今天" } else { "明天" }) " " (day.format("%Y-%m-%d")) }
                @let of_day: Vec<&DepartureRow> = rows.iter().filter(|r| r.date == *day).collect();
                @if of_day.is_empty() {
                    p.muted { "没有班次。" }
                } @else {
                    div.scroll { table {
                        thead { tr { th { "线路" } th { "发车" } th { "班次" } th { "已售/座位" } th { "余座" } th { "票价" } th { "状态" } th { "操作" } } }
                        tbody {
                            @for r in of_day {
                                @let (label, class) = sale_label(r.sale);
                                tr data-schedule=(r.schedule_id) {
                                    td { (r.line_name) }
                                    td { (r.time) }
                                    td.mono { (r.schedule_id) }
                                    td { (r.sold) "/" (r.seats) }
                                    td.left { (r.left) }
                                    td { @if let Some(p) = r.price_fen { "起 " (yuan(p)) } @else { "-" } }
                                    td { span class=(format!("badge {class}")) { (label) } @if let Some(why) = &r.stop_reason { br; small { (why) } } }
                                    td {
                                        @if r.sale == SaleLabel::Stopped && r.stop_reason.is_some() {
                                            form.inline method="post" action=(format!("/console/departures/{}/resume", r.schedule_id)) {
                                                (csrf_field(&s))
                                                button type="submit" name="action" value="resume" { "恢复售票" }
                                            }
                                        } @else {
                                            form.inline method="post" action=(format!("/console/departures/{}/stop", r.schedule_id)) data-confirm="确定停售该班次?" {
                                                (csrf_field(&s))
                                                input type="text" name="reason" required placeholder="停售原因" aria-label="停售原因";
                                                label { input type="checkbox" name="refund" value="1"; "同时退票" }
                                                button.danger type="submit" name="action" value="stop" { "停售" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    s.page(layout(&s, "今日班次", "today", body))
}

async fn stop_departure(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let cmd = AdminCommand::CatalogueStop { schedule_id: id.clone(), reason: field(&f, "reason").to_string(), refund: field(&f, "refund") == "1" };
    let out = if field(&f, "reason").is_empty() {
        Err("停售需要填写原因".to_string())
    } else {
        run(&c.app, &s.operator, "stop departure", &id, cmd).await
    };
    s.done("/console/today", out)
}

async fn resume_departure(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let out = run(&c.app, &s.operator, "resume departure", &id, AdminCommand::CatalogueResume { schedule_id: id.clone() }).await;
    s.done("/console/today", out)
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    date: String,
}

fn orders_table(found: &[Order]) -> Markup {
    html! {
        div.scroll { table #orders {
            thead { tr { th { "飞猪订单号" } th { "Busgate 订单号" } th { "状态" } th { "班次" } th { "发车" } th { "乘客" } th { "联系电话" } th { "金额" } th { "下单时间" } } }
            tbody {
                @for o in found {
                    tr {
                        td { (order_link(&o.alitrip_order_id, &o.agent_order_id)) }
                        td.mono { (o.agent_order_id) }
                        td { (orders_wire::status_desc(o.status)) }
                        td.mono { (o.schedule_id) }
                        td { (local_time(o.departure_at)) }
                        td { @for (i, p) in o.passengers.iter().enumerate() { @if i > 0 { "、" } (p.name) } }
                        td { (o.info.get("contactMobile").map(|p| mask_phone(p)).unwrap_or_else(|| "-".into())) }
                        td { (yuan(o.order_amount)) }
                        td { (local_time(o.created_at)) }
                    }
                }
            }
        } }
    }
}

async fn orders_page(State(c): State<Console>, s: Session, Query(q): Query<SearchQuery>) -> Response {
    let date = q.date.trim();
    let day = if date.is_empty() {
        None
    } else {
        match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => return error_page(&s, StatusCode::BAD_REQUEST, "订单", &format!("日期应为 yyyy-MM-dd,收到 {date}")),
        }
    };
    let found = match views::search_orders(c.app.store.as_ref(), &q.q, day, c.app.clock.now()).await {
        Ok(f) => f,
        Err(e) => return error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "订单", &format!("存储不可用:{e}")),
    };
    let scope = match (q.q.trim().is_empty(), day) {
        (_, Some(d)) => format!("{d} 下单"),
        (true, None) => "今天下单".to_string(),
        (false, None) => format!("近 {} 天下单", views::SEARCH_DAYS),
    };
    let body = html! {
        (search_form(&q.q, date))
        p.muted { (scope) ",找到 " span #found-count { (found.len()) } " 个订单。" }
        @if !found.is_empty() { (orders_table(&found)) }
    };
    s.page(layout(&s, "订单", "orders", body))
}

async fn order_page(State(c): State<Console>, s: Session, Path(id): Path<String>) -> Response {
    render_order(&c, &s, &id, None).await
}

async fn reveal(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let passenger = field(&f, "passenger").to_string();
    // The one place a full ID number leaves the store: say who looked, at what.
    tracing::warn!(operator = %s.operator, order = %id, passenger = %passenger, "console: ID number revealed");
    render_order(&c, &s, &id, Some(&passenger)).await
}

async fn render_order(c: &Console, s: &Session, id: &str, revealed: Option<&str>) -> Response {
    let detail = match views::order_detail(c.app.store.as_ref(), id, c.app.clock.now()).await {
        Ok(Some(d)) => d,
        Ok(None) => return error_page(s, StatusCode::NOT_FOUND, "订单", &format!("找不到订单 {id}")),
        Err(e) => return error_page(s, StatusCode::SERVICE_UNAVAILABLE, "订单", &format!("存储不可用:{e}")),
    };
    let o = &detail.order;
    let title = format!("订单 {}", o.agent_order_id);
    let body = html! {
        section.facts {
            dl {
                dt { "飞猪订单号" } dd #alitrip-order-id.mono { (o.alitrip_order_id) }
                dt { "Busgate 订单号" } dd.mono { (o.agent_order_id) }
                dt { "状态" } dd #order-status { (orders_wire::status_desc(o.status)) " (" (orders_wire::status_code(o.status)) ")" }
                dt { "班次" } dd { span.mono { (o.schedule_id) } @if let Some(d) = &detail.departure { " · " (d.line_name) " · " (d.date) " " (d.time) } }
                dt { "上车/下车" } dd { (o.info.get("fromStationName").map(String::as_str).unwrap_or(&o.from_station_code)) " → " (o.info.get("toStationName").map(String::as_str).unwrap_or(&o.to_station_code)) }
                dt { "金额" } dd { (yuan(o.order_amount)) }
                dt { "联系人" } dd { (o.info.get("contactName").map(String::as_str).unwrap_or("-")) " " (o.info.get("contactMobile").map(|p| mask_phone(p)).unwrap_or_default()) }
                dt { "下单时间" } dd { (local_time(o.created_at)) }
                @if let Some(pwd) = &o.ticket_pwd { dt { "取票码" } dd.mono { (pwd) } }
            }
        }
        section {
            h2 { "乘客与车票" }
            div.scroll { table #passengers {
                thead { tr { th { "乘客" } th { "证件号" } th { "车票" } th { "票价" } th { "座位" } th { "状态" } th { "已退" } } }
                tbody {
                    @for p in &o.passengers {
                        tr {
                            td { (p.name) }
                            td.mono {
                                @if revealed == Some(p.passenger_id.as_str()) {
                                    span.revealed { (p.cert_no) }
                                } @else {
                                    (mask_id(&p.cert_no))
                                    form.inline method="post" action=(format!("/console/orders/{}/reveal", o.agent_order_id)) {
                                        (csrf_field(s))
                                        input type="hidden" name="passenger" value=(p.passenger_id);
                                        button.link type="submit" title="查看完整证件号(会记录日志)" { "显示" }
                                    }
                                }
                            }
                            td.mono { (p.ticket.ticket_id) }
                            td { (yuan(p.ticket.price)) }
                            td { (p.ticket.seat_no.as_deref().unwrap_or("-")) }
                            td { (ticket_label(p.ticket.status)) }
                            td { @if p.ticket.refunded > 0 { (yuan(p.ticket.refunded)) } @else { "-" } }
                        }
                    }
                }
            } }
        }
        section {
            h2 { "状态历史" }
            ol.history { @for h in &detail.history { li { time { (local_time(h.at)) } " " (h.what) } } }
        }
        section {
            h2 { "回调" }
            @if detail.callbacks.is_empty() { p.muted { "没有回调。" } } @else {
                div.scroll { table #callbacks {
                    thead { tr { th { "回调" } th { "接口" } th { "状态" } th { "尝试次数" } th { "最近错误" } th { "创建" } th { "送达" } } }
                    tbody {
                        @for cb in &detail.callbacks {
                            @let (label, class) = callback_label(cb.status);
                            tr {
                                td.mono { (cb.id) }
                                td.mono { (destination(&cb.destination)) }
                                td { span class=(format!("badge {class}")) { (label) } }
                                td { (cb.attempts) }
                                td { (cb.last_error.as_deref().unwrap_or("-")) }
                                td { (local_time(cb.created_at)) }
                                td { (cb.delivered_at.map(local_time).unwrap_or_else(|| "-".into())) }
                            }
                        }
                    }
                } }
            }
        }
    };
    s.page(layout(s, &title, "orders", body))
}

async fn work(State(c): State<Console>, s: Session) -> Response {
    let lists = match work_lists(&c.app).await {
        Ok(l) => l,
        Err(e) => return error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "待办", &format!("存储不可用:{e}")),
    };
    let body = html! {
        section #issues {
            h2 { "待出票 (" (lists.issues.len()) ")" }
            @if lists.issues.is_empty() { p.muted { "没有待出票的订单。" } } @else {
                div.scroll { table { thead { tr { th { "订单" } th { "班次" } th { "张数" } th { "金额" } th { "截止" } th { "操作" } } }
                tbody { @for o in &lists.issues { tr data-order=(o.alitrip_order_id) {
                    td { (order_link(&o.alitrip_order_id, &o.agent_order_id)) }
                    td.mono { (o.schedule_id) }
                    td { (o.passengers.len()) }
                    td { (yuan(o.order_amount)) }
                    td { (o.issue_deadline.map(local_time).unwrap_or_else(|| "-".into())) }
                    td { (decision_forms(&s, &format!("/console/issues/{}/decide", o.alitrip_order_id), "issue", "出票", "拒绝出票")) }
                } } } } }
            }
        }
        section #refunds {
            h2 { "待审核退票 (" (lists.refunds.len()) ")" }
            @if lists.refunds.is_empty() { p.muted { "没有待审核的退票。" } } @else {
                div.scroll { table { thead { tr { th { "退票单" } th { "订单" } th { "车票" } th { "退款" } th { "申请时间" } th { "操作" } } }
                tbody { @for (o, r) in &lists.refunds { tr data-refund=(r.refund_id) {
                    td.mono { (r.refund_id) }
                    td { (order_link(&o.alitrip_order_id, &o.agent_order_id)) }
                    td.mono { @for (i, l) in r.lines.iter().enumerate() { @if i > 0 { br; } (l.ticket_id) } }
                    td { (yuan(r.total)) }
                    td { (local_time(r.created_at)) }
                    td { (decision_forms(&s, &format!("/console/refunds/{}/decide", r.refund_id), "approve", "同意退票", "拒绝")) }
                } } } } }
            }
        }
        section #cases {
            h2 { "未结协同工单 (" (lists.cases.len()) ")" }
            @if lists.cases.is_empty() { p.muted { "没有未结的工单。" } } @else {
                div.scroll { table { thead { tr { th { "工单" } th { "订单" } th { "状态" } th { "催单" } th { "时限" } th { "最近错误" } th { "回复" } } }
                tbody { @for k in &lists.cases { tr data-case=(k.relation_case_id) {
                    td.mono { (k.relation_case_id) }
                    td.mono { (k.order_id) }
                    td { (k.state.to_string()) }
                    td { (k.urges_received) }
                    td { (k.slafz.as_deref().unwrap_or("-")) }
                    td { (k.last_error.as_deref().unwrap_or("-")) }
                    td {
                        form.inline method="post" action=(format!("/console/cases/{}/send", k.relation_case_id)) {
                            (csrf_field(&s))
                            select name="kind" aria-label="动作" {
                                option value="reply" { "回复" }
                                option value="result" { "处理结果" }
                                option value="sendBack" { "退回" }
                                option value="end" { "结束" }
                            }
                            input type="text" name="note" required placeholder="内容" aria-label="内容";
                            button type="submit" { "发送" }
                        }
                    }
                } } } } }
            }
        }
        section #notices {
            h2 { "待审批分贝通通知 (" (lists.notices.len()) ")" }
            @if lists.notices.is_empty() { p.muted { "没有待审批的通知。" } } @else {
                div.scroll { table { thead { tr { th { "申请单" } th { "企业" } th { "类型" } th { "出行人" } th { "原订单" } th { "收到" } th { "审批" } } }
                tbody { @for n in &lists.notices { tr data-notice=(n.apply_id) {
                    td.mono { (n.apply_id) }
                    td { (n.company) }
                    td { (match n.notice.apply_type { notices::ApplyType::Refund => "退票", notices::ApplyType::Rebook => "改签" }) }
                    td { (n.notice.user.name) }
                    td { (n.notice.original_order().map(crate::notices::order_line).unwrap_or_else(|| "-".into())) }
                    td { (local_time(n.received_at)) }
                    td {
                        form.inline method="post" action=(format!("/console/notices/{}/decide", n.apply_id)) {
                            (csrf_field(&s))
                            input type="text" name="comment" placeholder="审批意见" aria-label="审批意见";
                            button type="submit" name="approve" value="1" { "同意" }
                            button.danger type="submit" name="approve" value="0" { "拒绝" }
                        }
                    }
                } } } } }
            }
        }
        section #dead {
            h2 { "死信回调 (" (lists.dead.len()) ")" }
            @if lists.dead.is_empty() { p.muted { "没有死信回调。" } } @else {
                form.inline method="post" action="/console/callbacks/replay" data-confirm="重放全部死信回调?" {
                    (csrf_field(&s)) input type="hidden" name="all" value="1";
                    button type="submit" { "全部重放" }
                }
                div.scroll { table { thead { tr { th { "回调" } th { "对象" } th { "接口" } th { "尝试次数" } th { "最近错误" } th { "创建" } th { "操作" } } }
                tbody { @for cb in &lists.dead { tr data-callback=(cb.id) {
                    td.mono { (cb.id) }
                    td { (cb.subject) }
                    td.mono { (destination(&cb.destination)) }
                    td { (cb.attempts) }
                    td { (cb.last_error.as_deref().unwrap_or("-")) }
                    td { (local_time(cb.created_at)) }
                    td {
                        form.inline method="post" action="/console/callbacks/replay" {
                            (csrf_field(&s)) input type="hidden" name="id" value=(cb.id);
                            button type="submit" { "重放" }
                        }
                    }
                } } } } }
            }
        }
    };
    s.page(layout(&s, "待办", "work", body))
}

async fn decide_issue(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let issue = field(&f, "issue") == "1";
    let cmd = AdminCommand::IssueDecide { order_id: id.clone(), issue, reason: field(&f, "reason").to_string(), fail_code: None };
    let out = run(&c.app, &s.operator, if issue { "issue tickets" } else { "refuse tickets" }, &id, cmd).await;
    s.done("/console/work#issues", out)
}

async fn decide_refund(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let approve = field(&f, "approve") == "1";
    let cmd = AdminCommand::RefundDecide { refund_id: id.clone(), approve, reason: field(&f, "reason").to_string() };
    let out = run(&c.app, &s.operator, if approve { "approve refund" } else { "reject refund" }, &id, cmd).await;
    s.done("/console/work#refunds", out)
}

async fn send_case(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let kind = field(&f, "kind").to_string();
    let cmd = AdminCommand::CasesSend { id: id.clone(), kind: kind.clone(), note: field(&f, "note").to_string(), operator: s.operator.clone() };
    let out = run(&c.app, &s.operator, &format!("case {kind}"), &id, cmd).await;
    s.done("/console/work#cases", out)
}

async fn decide_notice(State(c): State<Console>, s: Session, Path(id): Path<String>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let approve = field(&f, "approve") == "1";
    let cmd = AdminCommand::NoticesDecide { id: id.clone(), approve, comment: field(&f, "comment").to_string(), operator: s.operator.clone() };
    let out = run(&c.app, &s.operator, if approve { "approve notice" } else { "reject notice" }, &id, cmd).await;
    s.done("/console/work#notices", out)
}

async fn replay(State(c): State<Console>, s: Session, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    if let Some(r) = csrf_refusal(&headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let all_dead = field(&f, "all") == "1";
    let ids: Vec<String> = Some(field(&f, "id")).filter(|i| !i.is_empty()).map(str::to_string).into_iter().collect();
    let target = if all_dead { "all dead".to_string() } else { ids.join(",") };
    let out = run(&c.app, &s.operator, "replay callbacks", &target, AdminCommand::OutboxReplay { ids, all_dead }).await;
    s.done("/console/work#dead", out)
}

fn catalogue_form(s: &Session) -> Markup {
    html! {
        form.upload method="post" action="/console/catalogue" enctype="multipart/form-data" {
            (csrf_field(s))
            input type="file" name="file" accept=".json,application/json" required aria-label="目录文件";
            button type="submit" name="action" value="dry_run" { "检查(不应用)" }
            button.danger type="submit" name="action" value="apply" data-confirm="应用该目录文件?" { "检查并应用" }
        }
    }
}

async fn catalogue_page(s: Session) -> Response {
    let body = html! {
        p { "上传目录文件(与 " code { "busgate catalogue import" } " 相同的 JSON 文件)。先检查,报告列出每个问题及其行号;文件完全有效时才会应用。" }
        (catalogue_form(&s))
        p { a href="/console/catalogue/export" download="catalogue.json" { "导出当前目录" } }
    };
    s.page(layout(&s, "班次目录", "catalogue", body))
}

async fn catalogue_upload(State(c): State<Console>, s: Session, headers: HeaderMap, mut form: Multipart) -> Response {
    let mut fields: Fields = HashMap::new();
    let mut file_name = String::from("catalogue.json");
    loop {
        match form.next_field().await {
            Ok(Some(part)) => {
                let name = part.name().unwrap_or_default().to_string();
                if name == "file" {
                    if let Some(n) = part.file_name().filter(|n| !n.is_empty()) {
                        file_name = n.to_string();
                    }
                }
                match part.bytes().await {
                    Ok(b) => {
                        fields.insert(name, String::from_utf8_lossy(&b).into_owned());
                    }
                    Err(e) => return error_page(&s, StatusCode::BAD_REQUEST, "班次目录", &format!("上传失败:{e}")),
                }
            }
            Ok(None) => break,
            Err(e) => return error_page(&s, StatusCode::BAD_REQUEST, "班次目录", &format!("上传失败:{e}")),
        }
    }
    if let Some(r) = csrf_refusal(&headers, fields.get("csrf").map(String::as_str)) {
        return r;
    }
    let text = fields.remove("file").filter(|t| !t.trim().is_empty()).or_else(|| fields.remove("text")).unwrap_or_default();
    if text.trim().is_empty() {
        return error_page(&s, StatusCode::BAD_REQUEST, "班次目录", "请选择一个目录文件");
    }
    let dry_run = field(&fields, "action") != "apply";
    let cmd = AdminCommand::CatalogueImport { file_name: file_name.clone(), text: text.clone(), dry_run };
    let out = run(&c.app, &s.operator, if dry_run { "catalogue dry run" } else { "catalogue import" }, &file_name, cmd).await;
    let ok = out.is_ok();
    let report = match out {
        Ok(t) | Err(t) => t,
    };
    let body = html! {
        h2 { (if dry_run { "检查结果" } else { "导入结果" }) " · " (file_name) }
        pre #report class=(if ok { "report ok" } else { "report err" }) { (report) }
        @if ok && dry_run {
            form method="post" action="/console/catalogue" enctype="multipart/form-data" data-confirm="应用该目录文件?" {
                (csrf_field(&s))
                input type="hidden" name="text" value=(text);
                button.danger type="submit" name="action" value="apply" { "应用此文件" }
            }
        }
        h2 { "再上传一个文件" }
        (catalogue_form(&s))
    };
    let mut r = s.page(layout(&s, "班次目录", "catalogue", body));
    if !ok {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn catalogue_export(State(c): State<Console>, s: Session) -> Response {
    match execute(&c.app, AdminCommand::CatalogueExport, &|_, _| {}).await {
        Ok(out) => {
            tracing::info!(operator = %s.operator, "console: catalogue exported");
            (
                [(header::CONTENT_TYPE, "application/json; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"catalogue.json\"")],
                out.text,
            )
                .into_response()
        }
        Err(e) => error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "班次目录", &e),
    }
}

async fn health_page(State(c): State<Console>, s: Session) -> Response {
    let h = match views::health(c.app.store.as_ref(), c.app.clock.now()).await {
        Ok(h) => h,
        Err(e) => return error_page(&s, StatusCode::SERVICE_UNAVAILABLE, "回调健康", &format!("存储不可用:{e}")),
    };
    let body = html! {
        section.tiles {
            div.tile { span.count #pending { (h.pending) } span { "待投递" } }
            div.tile class=[(h.overdue > 0).then_some("due")] { span.count #overdue { (h.overdue) } span { "逾期" } }
            a.tile href="/console/work#dead" class=[(h.dead > 0).then_some("due")] { span.count #dead-count { (h.dead) } span { "死信" } }
        }
        h2 { "最近的投递错误" }
        @if h.recent_errors.is_empty() { p.muted { "没有投递错误。" } } @else {
            div.scroll { table #errors { thead { tr { th { "回调" } th { "对象" } th { "接口" } th { "状态" } th { "尝试次数" } th { "错误" } th { "创建" } } }
            tbody { @for cb in &h.recent_errors {
                @let (label, class) = callback_label(cb.status);
                tr {
                    td.mono { (cb.id) }
                    td { (cb.subject) }
                    td.mono { (destination(&cb.destination)) }
                    td { span class=(format!("badge {class}")) { (label) } }
                    td { (cb.attempts) }
                    td { (cb.last_error.as_deref().unwrap_or("-")) }
                    td { (local_time(cb.created_at)) }
                }
            } } } }
        }
    };
    s.page(layout(&s, "回调健康", "health", body))
}

/// `/console/sign-in` (open, no authorizer): the operator signs in against the user pool from the
/// page; console.js keeps the ID token in the tab and loads `/console/` with it. In local mode
/// there is nothing to sign in to.
async fn sign_in_page(State(c): State<Console>) -> Response {
    let SignIn::Cognito { endpoint, client_id, .. } = &c.sign_in else {
        return Redirect::to("/console").into_response();
    };
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" data-auth="cognito" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "登录 · Busgate 运营后台" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header { span.brand { "Busgate 运营后台" } }
                main {
                    h1 { "登录" }
                    form #sign-in method="post" action="/console/sign-in" data-endpoint=(endpoint) data-client=(client_id) {
                        p { label { "用户名 " input type="text" name="username" autocomplete="username" required; } }
                        p { label { "密码 " input type="password" name="password" autocomplete="current-password" required; } }
                        p { button type="submit" { "登录" } }
                        p.error #sign-in-error hidden {}
                    }
                }
            }
        }
    };
    html_response(page, &c.sign_in.csp())
}

/// Runs the console as a Lambda function behind the HTTP API (its JWT authorizer checks the
/// Cognito ID token; `BUSGATE_CONSOLE_AUTH_URL` and `BUSGATE_CONSOLE_CLIENT_ID` tell the sign-in
/// page where to sign in).
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    use busgate_edge::config::Requirement;
    let app = busgate_edge::lambda::init(&[Requirement::Queue, Requirement::DeadLetterQueue]).await?;
    let var = |k: &str| {
        std::env::var(k).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            tracing::error!(variable = k, "init failed: not set");
            lambda_runtime::Error::from(format!("configuration: {k} is not set"))
        })
    };
    let sign_in = SignIn::Cognito {
        endpoint: var("BUSGATE_CONSOLE_AUTH_URL")?,
        client_id: var("BUSGATE_CONSOLE_CLIENT_ID")?,
        operator_of: Arc::new(operator_from_claims),
    };
    lambda_http::run(router(app, sign_in)).await
}

/// The operator's name in the JWT claims API Gateway's authorizer attached to the request.
pub fn operator_from_claims(parts: &axum::http::request::Parts) -> Option<String> {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() else { return None };
    let claims = &ctx.authorizer.as_ref()?.jwt.as_ref()?.claims;
    ["name", "cognito:username", "username", "email"].iter().find_map(|k| claims.get(*k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
}
