//! The operator's back office: `busgate catalogue …`, `outbox …`, `cases …`, `notices …`,
//! `refund …` and `issue …`, and the web console that runs the same commands.
//!
//! Every command is an [`AdminCommand`], a serde value, run by one function, [`execute`], on an
//! [`App`]. Where that App lives depends on the target (see [`cli`]):
//!
//! * `--target aws`: the DynamoDB table and SQS queues of the configuration; callbacks go to
//!   SQS and the worker Lambda delivers them.
//! * `--target local` with local mode running: the command is POSTed as JSON to
//!   `/_local/admin` of that server ([`serve_http`]), which runs it with its own App, so the
//!   callbacks go through its worker (and, with the demo defaults, reach its fake TOP).
//! * `--target local` with no server answering: the embedded store in `--data` is opened
//!   directly with an in-process queue; the callbacks then stay pending in the store until
//!   the sweeper of the next `busgate local` queues them.
//!
//! After committing anything that created outbox callbacks, [`execute`] hands them to the
//! App's queue (`App::dispatch`) and lists them under `callback_ids` in the JSON output.

use busgate_domain::notices::OrderLookup;
use busgate_domain::outbox::CallbackStatus;
use busgate_edge::App;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod cases;
mod catalogue;
pub mod console;
mod issues;
mod notices;
mod outbox;
pub mod overlay;
mod refunds;
mod table;
pub mod views;

pub use catalogue::check_file as check_catalogue_file;
pub use refunds::FORCE_MAJEURE;

/// One back-office command: what the CLI sends to a running local mode (`POST /_local/admin`).
/// Operator names are resolved by the CLI (the operator's, not the server's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AdminCommand {
    /// Validate a catalogue file, then bring the store in line with it (or, `dry_run`, only
    /// report what that would do).
    CatalogueImport {
        /// The file's name, for the problem report.
        file_name: String,
        /// The file's content (the server may not see the operator's files).
        text: String,
        #[serde(default)]
        dry_run: bool,
    },
    /// Stop a departure (and, `refund`, refund its sold tickets as forced refunds; with
    /// `refund`, an already stopped departure is refunded again, which pays nothing twice).
    CatalogueStop {
        schedule_id: String,
        reason: String,
        #[serde(default)]
        refund: bool,
    },
    CatalogueResume {
        schedule_id: String,
    },
    /// The stored catalogue as a catalogue file (what `catalogue import` reads).
    CatalogueExport,
    /// The demo operator's catalogue file, dated from today.
    CatalogueDemo,
    /// Callback records of these statuses, oldest first; `last`: only the newest n.
    OutboxList {
        statuses: Vec<CallbackStatus>,
        #[serde(default)]
        last: Option<usize>,
    },
    /// Put dead callbacks back in the queue.
    OutboxReplay {
        #[serde(default)]
        ids: Vec<String>,
        #[serde(default)]
        all_dead: bool,
    },
    CasesList {
        #[serde(default)]
        open_only: bool,
        #[serde(default)]
        order_id: Option<String>,
    },
    CasesShow {
        id: String,
    },
    /// `kind`: result, sendBack, reply, urge, end (or start, to resubmit a sent-back case).
    CasesSend {
        id: String,
        kind: String,
        note: String,
        operator: String,
    },
    CasesOpen {
        order_id: String,
        note: String,
        operator: String,
    },
    NoticesList {
        #[serde(default)]
        pending_only: bool,
    },
    NoticesShow {
        id: String,
    },
    NoticesDecide {
        id: String,
        approve: bool,
        #[serde(default)]
        comment: String,
        operator: String,
    },
    /// Refunds: pending ones, and (unless `pending_only`) those accepted in the last `days` days.
    RefundList {
        #[serde(default)]
        pending_only: bool,
        #[serde(default = "default_refund_days")]
        days: u32,
    },
    /// Async issues (出票中) waiting for a decision.
    IssueList,
    /// Issue the tickets of an order waiting in `2`, or refuse them with `reason` (and an
    /// official `fail_code`: 1102, 1104, 1114 or 1401).
    IssueDecide {
        order_id: String,
        issue: bool,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        fail_code: Option<String>,
    },
    /// Approve or reject (with `reason`) a pending async refund.
    RefundDecide {
        refund_id: String,
        approve: bool,
        #[serde(default)]
        reason: String,
    },
    /// A counter (offline) refund of some (all valid ones when empty) tickets of an order,
    /// each paying `amount_per_ticket_fen` or else its price less the refund tier's fee.
    RefundOffline {
        order_id: String,
        #[serde(default)]
        tickets: Vec<String>,
        #[serde(default)]
        amount_per_ticket_fen: Option<i64>,
    },
    /// An operator money refund: compensation of `amount_fen`, or with `force_majeure`
    /// (`weather`, `stopped`, `epidemic`) a forced refund of every valid ticket (no amount).
    RefundMoney {
        order_id: String,
        #[serde(default)]
        amount_fen: Option<i64>,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        force_majeure: Option<String>,
    },
}

fn default_refund_days() -> u32 {
    7
}

/// What a command did: a human text (tables, reports) and the same as JSON (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminOutput {
    pub text: String,
    pub json: Value,
}

impl AdminOutput {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        AdminOutput { text: text.into(), json }
    }

    /// The outbox callbacks the command queued (`callback_ids` of the JSON).
    pub fn callback_ids(&self) -> Vec<String> {
        self.json
            .get("callback_ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

/// How `notices show` links a notice to a Busgate order.
///
/// Links a notice to a Busgate order by id: each Fenbeitong order id of the notice's original
/// orders is looked up as a Fliggy order id (`alitripOrderId`, one key read). A notice whose
/// ids match nothing, or more than one order, is not linked. (Matching by traveller and date
/// would need an index of orders by passenger; not built.)
pub fn order_lookup(app: &App) -> impl OrderLookup {
    StoreOrderLookup { store: app.store.clone() }
}

struct StoreOrderLookup {
    store: std::sync::Arc<dyn busgate_domain::store::Store>,
}

#[async_trait::async_trait]
impl OrderLookup for StoreOrderLookup {
    async fn find_order(
        &self,
        _company: &str,
        notice: &busgate_domain::notices::Notice,
    ) -> Result<Option<busgate_domain::notices::OrderLink>, busgate_domain::store::StoreError> {
        let mut found = Vec::new();
        for id in notice.original_order_ids() {
            let plausible = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
            if plausible {
                if let Some(order) = busgate_domain::orders::get_order(self.store.as_ref(), id).await? {
                    found.push(busgate_domain::notices::OrderLink {
                        order_id: format!("{} (Fliggy {})", order.agent_order_id, order.alitrip_order_id),
                        matched_by: format!("fenbeitong order {id}"),
                    });
                }
            }
        }
        Ok(if found.len() == 1 { found.pop() } else { None })
    }
}

/// Runs one back-office command on `app`. `progress(done, total)` is called while a
/// catalogue import reads and writes departures. Callbacks created by the command are handed
/// to the app's queue before it returns.
pub async fn execute(app: &App, cmd: AdminCommand, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<AdminOutput, String> {
    match cmd {
        AdminCommand::CatalogueImport { file_name, text, dry_run } => catalogue::import(app, &file_name, &text, dry_run, progress).await,
        AdminCommand::CatalogueStop { schedule_id, reason, refund } => catalogue::stop(app, &schedule_id, &reason, refund).await,
        AdminCommand::CatalogueResume { schedule_id } => catalogue::resume(app, &schedule_id).await,
        AdminCommand::CatalogueExport => catalogue::export(app).await,
        AdminCommand::CatalogueDemo => catalogue::demo(app).await,
        AdminCommand::OutboxList { statuses, last } => outbox::list(app, &statuses, last).await,
        AdminCommand::OutboxReplay { ids, all_dead } => outbox::replay(app, ids, all_dead).await,
        AdminCommand::CasesList { open_only, order_id } => cases::list(app, open_only, order_id.as_deref()).await,
        AdminCommand::CasesShow { id } => cases::show(app, &id).await,
        AdminCommand::CasesSend { id, kind, note, operator } => cases::send(app, &id, &kind, &note, &operator).await,
        AdminCommand::CasesOpen { order_id, note, operator } => cases::open(app, &order_id, &note, &operator).await,
        AdminCommand::NoticesList { pending_only } => notices::list(app, pending_only).await,
        AdminCommand::NoticesShow { id } => notices::show(app, &id).await,
        AdminCommand::NoticesDecide { id, approve, comment, operator } => notices::decide(app, &id, approve, &comment, &operator).await,
        AdminCommand::IssueList => issues::list(app).await,
        AdminCommand::IssueDecide { order_id, issue, reason, fail_code } => {
            issues::decide(app, &order_id, issue, &reason, fail_code.as_deref()).await
        }
        AdminCommand::RefundList { pending_only, days } => refunds::list(app, pending_only, days).await,
        AdminCommand::RefundDecide { refund_id, approve, reason } => refunds::decide(app, &refund_id, approve, &reason).await,
        AdminCommand::RefundOffline { order_id, tickets, amount_per_ticket_fen } => {
            refunds::offline(app, &order_id, &tickets, amount_per_ticket_fen).await
        }
        AdminCommand::RefundMoney { order_id, amount_fen, reason, force_majeure } => {
            refunds::money(app, &order_id, amount_fen, &reason, force_majeure.as_deref()).await
        }
    }
}

/// Largest admin request local mode accepts (a catalogue file travels in it).
pub const MAX_ADMIN_REQUEST_BYTES: usize = 64 << 20;

/// Local mode's `POST /_local/admin`: the body is an [`AdminCommand`]; the answer is the
/// [`AdminOutput`] (200), or `{"error": …}` (415 not JSON, 400 not a command, 422 the command
/// failed). Only `application/json` is accepted, so that a web page cannot post a command
/// without a CORS preflight (which local mode does not answer).
pub async fn serve_http(app: &App, content_type: Option<&str>, body: &[u8]) -> (u16, String) {
    if !content_type.is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("application/json")) {
        return (415, json!({ "error": "the back office takes application/json" }).to_string());
    }
    let cmd: AdminCommand = match serde_json::from_slice(body) {
        Ok(cmd) => cmd,
        Err(e) => return (400, json!({ "error": format!("not an admin command: {e}") }).to_string()),
    };
    match execute(app, cmd, &|_, _| {}).await {
        Ok(out) => (200, serde_json::to_string(&out).expect("admin output serialises")),
        Err(e) => (422, json!({ "error": e }).to_string()),
    }
}

/// `yyyy-MM-dd HH:mm:ss` in GMT+8, the operator's time zone.
fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&busgate_domain::gmt8()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// "1 callback" / "3 callbacks".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
