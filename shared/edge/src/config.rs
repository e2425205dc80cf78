//! Typed configuration from `BUSGATE_*` environment variables (fliggy-bus.md §2.2), parsed
//! once at start-up; a bad value stops the process with a message naming the variable.
//! Secrets are [`Secret`]s: their `Debug` never shows the value.

use std::collections::HashMap;

pub use busgate_adapters::partners::{FenbeitongApi, TopConfig};
use busgate_domain::outbox::RetryPolicy;
pub use busgate_signing::Secret;

use crate::inbound::routes::Route;

/// Sync or async handling of confirm (issue) and refunds/apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Async,
}

/// How the relation callback is authenticated (partners.md decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationAuth {
    /// Qimen MD5 signature, like every bus route.
    Qimen,
    /// Unsigned, accepted only from these client IPs (exact addresses).
    IpAllowlist(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct FenbeitongConfig {
    /// `company=token` pairs (a bare token belongs to `default`), as configured: who may send
    /// notices.
    pub tokens: Secret,
    /// Where approve/reject decisions go, and with which credentials.
    pub api: FenbeitongApi,
}

/// Configuration, by the kind of work that reads it: every function reads the whole of it
/// once at init, and uses the sections of its kind.
#[derive(Debug, Clone)]
pub struct Config {
    pub stage: String,
    /// Every inbound route: signature, timestamp, size, method binding.
    pub inbound: InboundConfig,
    /// Orders and refunds (the bus writers, the worker's jobs, the sweeper).
    pub sales: SalesConfig,
    /// `item.notify` coalescing of catalogue changes (§2.2).
    pub notify_coalesce_secs: u64,
    /// How the outbox worker retries a callback.
    pub retry: RetryPolicy,
    pub top: TopConfig,
    pub fenbeitong: FenbeitongConfig,
    /// DynamoDB table and SQS queues (AWS mode).
    pub aws: AwsResources,
}

#[derive(Debug, Clone)]
pub struct InboundConfig {
    pub qimen_secret: Secret,
    pub strict_method: bool,
    pub timestamp_window_secs: u64,
    pub max_body_bytes: usize,
    /// Expected `method` per route (overridable per route).
    pub methods: HashMap<Route, String>,
    pub relation_auth: RelationAuth,
}

#[derive(Debug, Clone)]
pub struct SalesConfig {
    pub hold_minutes: i64,
    pub issue_mode: Mode,
    pub async_issue_deadline_minutes: i64,
    /// In async issue mode, issue automatically (a queued job, after `auto_issue_delay_secs`);
    /// `false` leaves every decision to the back office.
    pub auto_issue: bool,
    pub auto_issue_delay_secs: u32,
    pub refund_mode: Mode,
    /// In async refund mode, approve automatically (a queued job, after
    /// `auto_refund_delay_secs`); `false` leaves every decision to the back office.
    pub auto_refund: bool,
    pub auto_refund_delay_secs: u32,
    /// A refund still pending this long after it was accepted is approved by the sweeper.
    pub async_refund_deadline_minutes: i64,
    pub in_flight_wait_ms: u64,
}

impl SalesConfig {
    /// The domain's order settings (§2.2), sharing the process's departure cache.
    pub fn order_settings(&self, departures: std::sync::Arc<busgate_domain::catalogue::DepartureCache>) -> busgate_domain::orders::Settings {
        busgate_domain::orders::Settings {
            hold_minutes: self.hold_minutes,
            async_issue: self.issue_mode == Mode::Async,
            async_issue_deadline_minutes: self.async_issue_deadline_minutes,
            async_refund: self.refund_mode == Mode::Async,
            in_flight_wait_ms: self.in_flight_wait_ms,
            departures: Some(departures),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AwsResources {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

fn parse<T: std::str::FromStr>(env: &dyn Fn(&str) -> Option<String>, var: &str, default: T) -> Result<T, ConfigError> {
    match env(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError { var: var.into(), problem: format!("cannot parse `{v}`") }),
    }
}

fn mode(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<Mode, ConfigError> {
    match env(var).as_deref().map(str::trim) {
        None | Some("") | Some("sync") => Ok(Mode::Sync),
        Some("async") => Ok(Mode::Async),
        Some(other) => Err(ConfigError { var: var.into(), problem: format!("`{other}` is neither sync nor async") }),
    }
}

/// A setting a function cannot work without (checked at init outside local mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Verifies Qimen signatures.
    QimenSecret,
    /// Authorises Fenbeitong notices.
    FenbeitongTokens,
    /// Calls Fliggy's TOP and Fenbeitong's API (the outbox worker).
    PartnerCalls,
    /// Hands messages to the outbox queue.
    Queue,
    /// Moves messages to the dead-letter queue.
    DeadLetterQueue,
}

fn required(var: &str, present: bool, how: &str) -> Result<(), ConfigError> {
    if present {
        Ok(())
    } else {
        Err(ConfigError { var: var.into(), problem: format!("required, not set ({how})") })
    }
}

impl Config {
    /// Checks that what `needs` names is configured; the error names the first missing
    /// variable (never a value).
    pub fn require(&self, needs: &[Requirement]) -> Result<(), ConfigError> {
        const SSM: &str = "set it, or its _PARAM variable to an SSM parameter name";
        for need in needs {
            match need {
                Requirement::QimenSecret => required("BUSGATE_QIMEN_SECRET", !self.inbound.qimen_secret.is_empty(), SSM)?,
                Requirement::FenbeitongTokens => required("BUSGATE_FENBEITONG_TOKENS", !self.fenbeitong.tokens.is_empty(), SSM)?,
                Requirement::PartnerCalls => {
                    required("BUSGATE_TOP_APP_KEY", !self.top.app_key.trim().is_empty(), "the TOP app key")?;
                    required("BUSGATE_TOP_SECRET", !self.top.secret.is_empty(), SSM)?;
                    required("BUSGATE_TOP_SESSION", !self.top.session.is_empty(), SSM)?;
                    required("BUSGATE_RELATION_APP_NAME", !self.top.relation_app_name.trim().is_empty(), "caller_info.app_name of relation replies")?;
                    required("BUSGATE_FENBEITONG_URL", !self.fenbeitong.api.url.trim().is_empty(), "Fenbeitong's open API base URL")?;
                    required("BUSGATE_FENBEITONG_ACCESS_TOKEN", !self.fenbeitong.api.access_token.is_empty(), SSM)?;
                    required("BUSGATE_FENBEITONG_SIGN_KEY", !self.fenbeitong.api.sign_key.is_empty(), SSM)?;
                }
                Requirement::Queue => required("BUSGATE_QUEUE_URL", !self.aws.queue_url.trim().is_empty(), "the outbox queue URL")?,
                Requirement::DeadLetterQueue => required("BUSGATE_DLQ_URL", !self.aws.dlq_url.trim().is_empty(), "the dead-letter queue URL")?,
            }
        }
        Ok(())
    }

    /// Checks that the Fenbeitong tokens parse (only where notices are received: the check
    /// links the notices code). The error says which entry is wrong, never a token.
    pub fn check_fenbeitong_tokens(&self) -> Result<(), ConfigError> {
        busgate_domain::notices::Tokens::parse(self.fenbeitong.tokens.expose())
            .map(|_| ())
            .map_err(|e| ConfigError { var: "BUSGATE_FENBEITONG_TOKENS".into(), problem: e.to_string() })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads configuration through `env` (tests pass a map).
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let text = |var: &str, default: &str| env(var).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string());
        let mut methods = HashMap::new();
        for route in Route::ALL {
            if let Some(default) = route.default_method() {
                methods.insert(route, text(&route.method_var(), default));
            }
        }
        let relation_auth = match text("BUSGATE_RELATION_AUTH", "qimen").as_str() {
            "qimen" => RelationAuth::Qimen,
            "ip-allowlist" => RelationAuth::IpAllowlist(
                text("BUSGATE_RELATION_IP_ALLOWLIST", "").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            ),
            other => return Err(ConfigError { var: "BUSGATE_RELATION_AUTH".into(), problem: format!("`{other}`: qimen or ip-allowlist") }),
        };
        let sign_method = text("BUSGATE_TOP_SIGN_METHOD", "hmac-sha256")
            .parse()
            .map_err(|problem| ConfigError { var: "BUSGATE_TOP_SIGN_METHOD".into(), problem })?;
        Ok(Config {
            stage: text("BUSGATE_STAGE", "local"),
            inbound: InboundConfig {
                qimen_secret: Secret::new(text("BUSGATE_QIMEN_SECRET", "")),
                strict_method: parse(env, "BUSGATE_STRICT_METHOD", true)?,
                timestamp_window_secs: parse(env, "BUSGATE_TIMESTAMP_WINDOW_SECS", 300)?,
                max_body_bytes: parse(env, "BUSGATE_MAX_BODY_BYTES", 262_144)?,
                methods,
                relation_auth,
            },
            sales: SalesConfig {
                hold_minutes: parse(env, "BUSGATE_HOLD_MINUTES", 30)?,
                issue_mode: mode(env, "BUSGATE_ISSUE_MODE")?,
                async_issue_deadline_minutes: parse(env, "BUSGATE_ASYNC_ISSUE_DEADLINE_MINUTES", 10)?,
                auto_issue: parse(env, "BUSGATE_AUTO_ISSUE", true)?,
                auto_issue_delay_secs: parse(env, "BUSGATE_AUTO_ISSUE_DELAY_SECS", 2)?,
                refund_mode: mode(env, "BUSGATE_REFUND_MODE")?,
                auto_refund: parse(env, "BUSGATE_AUTO_REFUND", true)?,
                auto_refund_delay_secs: parse(env, "BUSGATE_AUTO_REFUND_DELAY_SECS", 2)?,
                async_refund_deadline_minutes: parse(env, "BUSGATE_ASYNC_REFUND_DEADLINE_MINUTES", 60)?,
                in_flight_wait_ms: parse(env, "BUSGATE_IN_FLIGHT_WAIT_MS", 2000)?,
            },
            notify_coalesce_secs: parse(env, "BUSGATE_NOTIFY_COALESCE_SECS", 60)?,
            retry: RetryPolicy {
                max_attempts: parse(env, "BUSGATE_CALLBACK_MAX_ATTEMPTS", 8)?,
                backoff_base_secs: parse(env, "BUSGATE_CALLBACK_BACKOFF_BASE_SECS", 10)?,
            },
            top: TopConfig {
                url: text("BUSGATE_TOP_URL", "https://eco.taobao.com/router/rest"),
                app_key: text("BUSGATE_TOP_APP_KEY", ""),
                secret: Secret::new(text("BUSGATE_TOP_SECRET", "")),
                session: Secret::new(text("BUSGATE_TOP_SESSION", "")),
                sign_method,
                relation_app_name: text("BUSGATE_RELATION_APP_NAME", ""),
                relation_app_secret: Secret::new(text("BUSGATE_RELATION_APP_SECRET", "")),
            },
            fenbeitong: FenbeitongConfig {
                tokens: Secret::new(text("BUSGATE_FENBEITONG_TOKENS", "")),
                api: FenbeitongApi {
                    url: text("BUSGATE_FENBEITONG_URL", ""),
                    sign_key: Secret::new(text("BUSGATE_FENBEITONG_SIGN_KEY", "")),
                    access_token: Secret::new(text("BUSGATE_FENBEITONG_ACCESS_TOKEN", "")),
                },
            },
            aws: AwsResources {
                table: text("BUSGATE_TABLE", "busgate"),
                queue_url: text("BUSGATE_QUEUE_URL", ""),
                dlq_url: text("BUSGATE_DLQ_URL", ""),
            },
        })
    }

    /// The clients of the partners Busgate calls (the outbox worker's port).
    pub fn partners(&self) -> std::sync::Arc<dyn busgate_domain::outbox::Partners> {
        std::sync::Arc::new(busgate_adapters::partners::PartnerClients::new(self.top.clone(), self.fenbeitong.api.clone()))
    }

    /// The method expected on `route` (None for routes that are not Qimen bus methods).
    pub fn expected_method(&self, route: Route) -> Option<&str> {
        self.inbound.methods.get(&route).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::{Config, Requirement};

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(&|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap()
    }

    #[test]
    fn a_missing_requirement_names_its_variable_and_never_a_value() {
        let err = config(&[]).require(&[Requirement::QimenSecret]).unwrap_err();
        assert_eq!(err.var, "BUSGATE_QIMEN_SECRET");
        assert!(err.to_string().contains("_PARAM"), "{err}");
        let partners = [
            ("BUSGATE_TOP_APP_KEY", "12345678"),
            ("BUSGATE_TOP_SECRET", "top-secret-value"),
            ("BUSGATE_TOP_SESSION", "session-value"),
            ("BUSGATE_RELATION_APP_NAME", "busgate"),
            ("BUSGATE_FENBEITONG_URL", "https://open-plus.fenbeitong.com"),
            ("BUSGATE_FENBEITONG_ACCESS_TOKEN", "access-value"),
            ("BUSGATE_FENBEITONG_SIGN_KEY", "sign-value"),
        ];
        assert!(config(&partners).require(&[Requirement::PartnerCalls]).is_ok());
        // Each one missing is named, and no value of the others shows.
        for (i, (var, _)) in partners.iter().enumerate() {
            let some: Vec<(&str, &str)> = partners.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| *p).collect();
            let err = config(&some).require(&[Requirement::PartnerCalls]).unwrap_err();
            assert_eq!(&err.var, var);
            for (_, value) in &partners {
                assert!(!err.to_string().contains(value), "{err}");
            }
        }
        assert_eq!(config(&[]).require(&[Requirement::Queue]).unwrap_err().var, "BUSGATE_QUEUE_URL");
        assert_eq!(config(&[]).require(&[Requirement::DeadLetterQueue]).unwrap_err().var, "BUSGATE_DLQ_URL");
        assert!(config(&[("BUSGATE_QIMEN_SECRET", "s")]).require(&[Requirement::QimenSecret]).is_ok());
    }

    #[test]
    fn each_section_reads_its_variables_and_a_bad_value_names_its_variable() {
        let c = config(&[("BUSGATE_CALLBACK_MAX_ATTEMPTS", "3"), ("BUSGATE_ISSUE_MODE", "async"), ("BUSGATE_MAX_BODY_BYTES", "1024")]);
        assert_eq!((c.retry.max_attempts, c.retry.backoff_base_secs), (3, 10));
        assert_eq!(c.sales.issue_mode, super::Mode::Async);
        assert_eq!(c.inbound.max_body_bytes, 1024);
        assert_eq!((c.aws.table.as_str(), c.aws.queue_url.as_str()), ("busgate", ""));
        let err = Config::from_lookup(&|k| (k == "BUSGATE_HOLD_MINUTES").then(|| "half an hour".to_string())).unwrap_err();
        assert_eq!(err.to_string(), "BUSGATE_HOLD_MINUTES: cannot parse `half an hour`");
    }
}
