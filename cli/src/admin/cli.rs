//! The back office's command line: clap definitions, the target (local mode over HTTP, the
//! embedded store, or AWS), and printing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use busgate_adapters::{EmbeddedStore, InProcessQueue};
use busgate_domain::outbox::CallbackStatus;
use busgate_domain::{Clock, SystemClock};
use busgate_edge::{App, Config};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::{execute, AdminCommand, AdminOutput};

/// Where the operator's data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Local mode: run in the `busgate local` answering at --server, or else on the embedded
    /// store in --data.
    Local,
    /// The AWS deployment: BUSGATE_TABLE, BUSGATE_QUEUE_URL and BUSGATE_DLQ_URL.
    Aws,
}

/// Options shared by every back-office command.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Where the data lives.
    #[arg(long, value_enum, default_value_t = Target::Local, env = "BUSGATE_TARGET", global = true, help_heading = "Where")]
    pub target: Target,
    /// Address of a running `busgate local`: if it answers, the command runs there (and its
    /// worker delivers the callbacks).
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "BUSGATE_SERVER", global = true, help_heading = "Where")]
    pub server: String,
    /// Do not look for a running local mode: open the store in --data directly.
    #[arg(long, global = true, help_heading = "Where")]
    pub direct: bool,
    /// Folder of the embedded store, used when no local mode answers.
    #[arg(long, default_value = ".busgate", env = "BUSGATE_DATA", global = true, help_heading = "Where")]
    pub data: PathBuf,
    /// Print JSON (for scripts) instead of text.
    #[arg(long, global = true, help_heading = "Where")]
    pub json: bool,
}

/// Who gives an operator command.
#[derive(Debug, Clone, Args)]
pub struct OperatorArg {
    /// Operator name recorded with the action [default: $BUSGATE_OPERATOR, else the OS user].
    #[arg(long, env = "BUSGATE_OPERATOR")]
    pub operator: Option<String>,
}

impl OperatorArg {
    fn name(self) -> Result<String, String> {
        self.operator
            .filter(|v| !v.trim().is_empty())
            .or_else(os_user)
            .map(|v| v.trim().to_string())
            .ok_or_else(|| "give --operator NAME (or set BUSGATE_OPERATOR)".to_string())
    }
}

/// The OS user: `$USER` (`$USERNAME`, `$LOGNAME`), else what `whoami` says.
fn os_user() -> Option<String> {
    let nonempty = |v: String| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    ["USER", "USERNAME", "LOGNAME"].iter().find_map(|k| std::env::var(k).ok().and_then(nonempty)).or_else(|| {
        let out = std::process::Command::new("whoami").stderr(std::process::Stdio::null()).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string()).and_then(nonempty)
    })
}

/// A command group with the shared options.
#[derive(Debug, Args)]
pub struct Group<C: Subcommand> {
    #[command(flatten)]
    pub conn: Connection,
    #[command(subcommand)]
    pub cmd: C,
}

/// The back-office commands (flattened into `busgate`'s own).
#[derive(Debug, Subcommand)]
pub enum AdminCli {
    /// The catalogue: import a catalogue file, stop or resume a departure, export.
    Catalogue(Group<CatalogueCmd>),
    /// Callbacks owed to Fliggy and Fenbeitong: list them, replay dead ones.
    Outbox(Group<OutboxCmd>),
    /// Collaboration work orders (协同工单) with Fliggy's customer service.
    Cases(Group<CasesCmd>),
    /// Fenbeitong (分贝通) refund and rebook approval notices.
    Notices(Group<NoticesCmd>),
    /// Refunds: list them, decide async ones, counter (offline) refunds and money refunds.
    Refund(Group<RefundCmd>),
    /// Async issues (出票中): list those waiting, issue or refuse their tickets.
    Issue(Group<IssueCmd>),
}

#[derive(Debug, Subcommand)]
pub enum IssueCmd {
    /// Orders confirmed in async mode whose tickets wait for a decision.
    List,
    /// Issue the tickets of an order (by its Fliggy order id); bookticket.confirm is sent.
    Approve { order: String },
    /// Refuse the tickets of an order: it closes, its seats are released, and
    /// bookticket.confirm carries the reason.
    Refuse {
        order: String,
        /// Why (sent to Fliggy).
        #[arg(long)]
        reason: String,
        /// The official cause, if it is one: 1102 stopped, 1104 no seats, 1114 unknown
        /// departure, 1401 wrong departure details.
        #[arg(long)]
        fail_code: Option<String>,
    },
}

impl IssueCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            IssueCmd::List => AdminCommand::IssueList,
            IssueCmd::Approve { order } => AdminCommand::IssueDecide { order_id: order, issue: true, reason: String::new(), fail_code: None },
            IssueCmd::Refuse { order, reason, fail_code } => AdminCommand::IssueDecide { order_id: order, issue: false, reason, fail_code },
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCmd {
    /// Check a catalogue file (every problem is reported; nothing is applied unless the whole
    /// file is valid), then bring the store in line with it. Idempotent.
    Import {
        file: PathBuf,
        /// Only report what the import would do.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop a departure: it leaves the listings and the sale; Fliggy is notified.
    Stop {
        schedule_id: String,
        #[arg(long)]
        reason: String,
        /// Also refund its sold tickets (forced refunds, reason "stopped"); on a stopped
        /// departure, refunds what is left to refund.
        #[arg(long)]
        refund: bool,
    },
    /// Resume a stopped departure.
    Resume { schedule_id: String },
    /// Print the stored catalogue as a catalogue file (import reads it back unchanged).
    Export,
    /// Print the demo operator's catalogue file, dated from today (a starting point for yours).
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// List callbacks, oldest first (pending and dead ones unless told otherwise).
    List {
        /// Waiting for (another) attempt.
        #[arg(long)]
        pending: bool,
        /// Refused or out of attempts (replay them with `outbox replay`).
        #[arg(long)]
        dead: bool,
        /// Accepted by the partner.
        #[arg(long)]
        delivered: bool,
        /// Every status.
        #[arg(long, conflicts_with_all = ["pending", "dead", "delivered"])]
        all: bool,
        /// Only the newest N.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
    /// Put dead callbacks back in the queue.
    Replay {
        #[arg(required_unless_present = "all_dead", value_name = "ID")]
        ids: Vec<String>,
        /// Every dead callback.
        #[arg(long, conflicts_with = "ids")]
        all_dead: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CasesCmd {
    /// Cases, urged and near-SLA ones first.
    List {
        /// Open cases only.
        #[arg(long)]
        open: bool,
        /// Cases of one Fliggy order.
        #[arg(long, value_name = "ORDER_ID")]
        order: Option<String>,
    },
    /// One case with its whole history (our relation case id or Fliggy's case id).
    Show { id: String },
    /// Send a message on a case: result, sendBack, reply, urge, end (start: resubmit a case
    /// of ours that Fliggy sent back).
    Send {
        id: String,
        #[arg(value_name = "result|sendBack|reply|urge|end|start")]
        kind: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Open a case of ours on a Fliggy order.
    Open {
        #[arg(long, value_name = "ORDER_ID")]
        order: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum NoticesCmd {
    /// Notices, oldest first.
    List {
        /// Only those waiting for a decision.
        #[arg(long)]
        pending: bool,
    },
    /// One notice, with the body as received.
    Show { id: String },
    /// Approve a notice; the decision goes to Fenbeitong.
    Approve {
        id: String,
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
    /// Reject a notice (a comment is required); the decision goes to Fenbeitong.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        operator: OperatorArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum RefundCmd {
    /// Refunds: the pending async ones, and those accepted in the last --days days.
    List {
        /// Only async refunds waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// How many days back (GMT+8) to list decided refunds.
        #[arg(long, default_value = "7")]
        days: u32,
    },
    /// Approve a pending async refund (the refundId refunds/apply answered): tickets refunded,
    /// seats back, refund.confirm sent.
    Approve { refund_id: String },
    /// Reject a pending async refund: its tickets stay valid (and can be refunded again);
    /// refund.confirm carries the reason.
    Reject {
        refund_id: String,
        /// Why (sent to Fliggy).
        #[arg(long)]
        reason: String,
    },
    /// Record a counter (offline) refund of an order's tickets (all valid ones unless
    /// --tickets); each pays its price less the refund tier's fee, or --amount-per-ticket.
    Offline {
        order: String,
        /// Ticket ids (comma separated or repeated).
        #[arg(long, value_delimiter = ',')]
        tickets: Vec<String>,
        /// Fen paid back per ticket, instead of the tier's refund.
        #[arg(long, value_name = "FEN")]
        amount_per_ticket: Option<i64>,
    },
    /// Refund money on an order: compensation of --amount, or with --force-majeure a forced
    /// refund of every valid ticket (its price less what was already refunded).
    Money {
        order: String,
        /// Amount in fen (compensation; not with --force-majeure).
        #[arg(long, value_name = "FEN", required_unless_present = "force_majeure", conflicts_with = "force_majeure")]
        amount: Option<i64>,
        /// Why (required for compensation; a forced refund defaults to its reason's text).
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, value_parser = busgate_backoffice::FORCE_MAJEURE)]
        force_majeure: Option<String>,
    },
}

impl CatalogueCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            CatalogueCmd::Import { file, dry_run } => {
                let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                AdminCommand::CatalogueImport { file_name: file.display().to_string(), text, dry_run }
            }
            CatalogueCmd::Stop { schedule_id, reason, refund } => AdminCommand::CatalogueStop { schedule_id, reason, refund },
            CatalogueCmd::Resume { schedule_id } => AdminCommand::CatalogueResume { schedule_id },
            CatalogueCmd::Export => AdminCommand::CatalogueExport,
            CatalogueCmd::Demo => AdminCommand::CatalogueDemo,
        })
    }
}

impl OutboxCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            OutboxCmd::List { pending, dead, delivered, all, last } => {
                let mut statuses = Vec::new();
                if pending || all {
                    statuses.push(CallbackStatus::Pending);
                }
                if dead || all {
                    statuses.push(CallbackStatus::Dead);
                }
                if delivered || all {
                    statuses.push(CallbackStatus::Delivered);
                }
                if statuses.is_empty() {
                    statuses = vec![CallbackStatus::Pending, CallbackStatus::Dead];
                }
                AdminCommand::OutboxList { statuses, last }
            }
            OutboxCmd::Replay { ids, all_dead } => AdminCommand::OutboxReplay { ids, all_dead },
        })
    }
}

impl CasesCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            CasesCmd::List { open, order } => AdminCommand::CasesList { open_only: open, order_id: order },
            CasesCmd::Show { id } => AdminCommand::CasesShow { id },
            CasesCmd::Send { id, kind, note, operator } => AdminCommand::CasesSend { id, kind, note, operator: operator.name()? },
            CasesCmd::Open { order, note, operator } => AdminCommand::CasesOpen { order_id: order, note, operator: operator.name()? },
        })
    }
}

impl NoticesCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            NoticesCmd::List { pending } => AdminCommand::NoticesList { pending_only: pending },
            NoticesCmd::Show { id } => AdminCommand::NoticesShow { id },
            NoticesCmd::Approve { id, comment, operator } => AdminCommand::NoticesDecide { id, approve: true, comment, operator: operator.name()? },
            NoticesCmd::Reject { id, comment, operator } => AdminCommand::NoticesDecide { id, approve: false, comment, operator: operator.name()? },
        })
    }
}

impl RefundCmd {
    fn into_command(self) -> Result<AdminCommand, String> {
        Ok(match self {
            RefundCmd::List { pending, days } => AdminCommand::RefundList { pending_only: pending, days },
            RefundCmd::Approve { refund_id } => AdminCommand::RefundDecide { refund_id, approve: true, reason: String::new() },
            RefundCmd::Reject { refund_id, reason } => AdminCommand::RefundDecide { refund_id, approve: false, reason },
            RefundCmd::Offline { order, tickets, amount_per_ticket } => {
                AdminCommand::RefundOffline { order_id: order, tickets, amount_per_ticket_fen: amount_per_ticket }
            }
            RefundCmd::Money { order, amount, reason, force_majeure } => {
                AdminCommand::RefundMoney { order_id: order, amount_fen: amount, reason: reason.unwrap_or_default(), force_majeure }
            }
        })
    }
}

impl AdminCli {
    /// The shared options and the command (files read, operator resolved).
    pub fn into_parts(self) -> Result<(Connection, AdminCommand), String> {
        Ok(match self {
            AdminCli::Catalogue(g) => (g.conn, g.cmd.into_command()?),
            AdminCli::Outbox(g) => (g.conn, g.cmd.into_command()?),
            AdminCli::Cases(g) => (g.conn, g.cmd.into_command()?),
            AdminCli::Notices(g) => (g.conn, g.cmd.into_command()?),
            AdminCli::Refund(g) => (g.conn, g.cmd.into_command()?),
            AdminCli::Issue(g) => (g.conn, g.cmd.into_command()?),
        })
    }
}

/// Runs a back-office command line and prints its output (`busgate catalogue …` etc.).
pub fn run(cli: AdminCli) -> Result<(), String> {
    let (conn, cmd) = cli.into_parts()?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (out, notes) = rt.block_on(run_command(&conn, cmd))?;
    let text = if conn.json { serde_json::to_string_pretty(&out.json).expect("json prints") } else { out.text };
    {
        use std::io::Write;
        // A closed pipe (`| head`) is not an error of the command.
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(format!("cannot print: {e}"));
            }
        }
    }
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok(())
}

/// Runs `cmd` where `conn` says; returns the output and notes for the operator.
pub async fn run_command(conn: &Connection, cmd: AdminCommand) -> Result<(AdminOutput, Vec<String>), String> {
    match conn.target {
        Target::Aws => {
            let mut notes = Vec::new();
            let app = aws_app(&mut notes).await?;
            let out = in_process(&app, cmd, conn.json).await?;
            Ok((out, notes))
        }
        Target::Local => {
            let base = server_url(&conn.server);
            if !conn.direct && probe(&base).await {
                return Ok((via_http(&base, &cmd).await?, Vec::new()));
            }
            // A file with mistakes is refused before the store is opened (or created).
            if let AdminCommand::CatalogueImport { file_name, text, .. } = &cmd {
                busgate_backoffice::check_catalogue_file(file_name, text)?;
            }
            let creates = matches!(cmd, AdminCommand::CatalogueImport { dry_run: false, .. });
            let app = open_local(&conn.data, &base, conn.direct, creates)?;
            let out = in_process(&app, cmd, conn.json).await?;
            let mut notes = Vec::new();
            let ids = out.callback_ids();
            if !ids.is_empty() {
                let why = if conn.direct { "--direct was given".to_string() } else { format!("no local mode answered at {base}") };
                notes.push(format!(
                    "{why}: {} pending in the store in {}; the sweeper of the next `busgate local` queues {} (about 15 minutes after {} due)",
                    if ids.len() == 1 { "the callback is".to_string() } else { format!("the {} callbacks are", ids.len()) },
                    conn.data.display(),
                    if ids.len() == 1 { "it" } else { "them" },
                    if ids.len() == 1 { "it is" } else { "they are" },
                ));
            }
            Ok((out, notes))
        }
    }
}

/// Runs the command in this process, with a progress bar on stderr for a catalogue import.
async fn in_process(app: &App, cmd: AdminCommand, json: bool) -> Result<AdminOutput, String> {
    let bar = match &cmd {
        AdminCommand::CatalogueImport { .. } if !json => {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("importing");
            Some(bar)
        }
        _ => None,
    };
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let result = execute(app, cmd, &progress).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

/// `http://host:port` without a trailing slash (a bare `host:port` gets `http://`).
fn server_url(server: &str) -> String {
    let s = server.trim().trim_end_matches('/');
    if s.contains("://") {
        s.to_string()
    } else {
        format!("http://{s}")
    }
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder().no_proxy().timeout(timeout).build().map_err(|e| e.to_string())
}

/// Whether a local mode answers at `base` (`GET /_local/health`, short timeout).
pub async fn probe(base: &str) -> bool {
    let Ok(client) = http_client(Duration::from_millis(800)) else { return false };
    match client.get(format!("{base}/_local/health")).send().await {
        Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|t| t.trim() == "ok"),
        _ => false,
    }
}

/// Runs the command in the local mode at `base` (`POST /_local/admin`).
async fn via_http(base: &str, cmd: &AdminCommand) -> Result<AdminOutput, String> {
    let client = http_client(Duration::from_secs(30 * 60))?;
    let body = serde_json::to_string(cmd).expect("admin command serialises");
    let r = client
        .post(format!("{base}/_local/admin"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("local mode at {base}: {e}"))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| format!("local mode at {base}: {e}"))?;
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|e| format!("local mode at {base} answered something unexpected: {e}"));
    }
    if let Some(error) = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string)) {
        return Err(error);
    }
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::METHOD_NOT_ALLOWED {
        return Err(format!("the local mode at {base} has no back office (HTTP {status}); restart it with this version of busgate"));
    }
    Err(format!("local mode at {base} answered HTTP {status}: {}", text.chars().take(300).collect::<String>()))
}

/// The embedded store in `data` with an in-process queue (the callbacks then wait in the
/// store for the next local mode's sweeper).
fn open_local(data: &Path, base: &str, direct: bool, may_create: bool) -> Result<App, String> {
    let file = data.join("busgate.redb");
    if !may_create && !file.exists() {
        return Err(format!(
            "no store in {} ({} not found): pass --data DIR, or run `busgate local --data DIR` first",
            data.display(),
            file.display()
        ));
    }
    let store = EmbeddedStore::open(data).map_err(|e| {
        let m = e.to_string();
        if m.contains("already open") || m.contains("lock") {
            let server = if direct { "--direct was given".to_string() } else { format!("no local mode answered at {base}") };
            format!(
                "the store in {} is locked by a running `busgate local` (redb holds {} exclusively) and {server}: pass --server with the address that local mode prints",
                data.display(),
                file.display()
            )
        } else {
            format!("store in {}: {m}", data.display())
        }
    })?;
    let env = |k: &str| std::env::var(k).ok();
    let addr = base.rsplit("://").next().and_then(|a| a.parse().ok()).unwrap_or_else(|| ([127, 0, 0, 1], 8080).into());
    let config = crate::local::local_config(&env, addr)?;
    let queue = Arc::new(InProcessQueue::new(Duration::from_secs(30), config.retry.max_attempts + 2));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(App::new(config, Arc::new(store), queue, clock))
}

/// The AWS deployment's App, configured like the functions (`BUSGATE_*`).
async fn aws_app(notes: &mut Vec<String>) -> Result<App, String> {
    for var in ["BUSGATE_TABLE", "BUSGATE_QUEUE_URL"] {
        if std::env::var(var).map(|v| v.trim().is_empty()).unwrap_or(true) {
            return Err(format!("--target aws needs {var} (the stack's outputs: BUSGATE_TABLE, BUSGATE_QUEUE_URL, BUSGATE_DLQ_URL)"));
        }
    }
    let mut config = Config::from_env().map_err(|e| format!("configuration: {e}"))?;
    if let Err(e) = busgate_edge::secrets::resolve(&mut config).await {
        // Only the worker signs callbacks; the back office commits and queues them.
        notes.push(format!("secrets not resolved ({e}); the back office does not need them"));
    }
    Ok(App::aws(config).await)
}
