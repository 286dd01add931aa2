//! [`Config`]: what the pipeline needs to know.

use std::time::Duration;

use alert::{Level, Mode};
use events::{Invalid, Problem};

/// What the pipeline needs to know (the `alerter` flags, minus logging).
#[derive(Debug, Clone)]
pub struct Config {
    /// The levels to watch; empty means: ask for one on stdin ([`crate::prompt::ask_level`]).
    pub levels: Vec<Level>,
    /// Every update beyond the level, or once per crossing.
    pub mode: Mode,
    /// Print quiet updates too.
    pub verbose: bool,
    /// `--exec` command.
    pub exec: Option<String>,
    /// `--webhook` URL.
    pub webhook: Option<String>,
    /// WebSocket base.
    pub ws_url: String,
    /// REST base.
    pub rest_url: String,
    /// No data for this long means the connection is dead.
    pub idle_timeout: Duration,
    /// `--source nats://…`: the updates from the recorder's JetStream subjects instead of a
    /// Binance connection (`None`: connect to `ws_url`).
    pub source: Option<bus::BusConfig>,
    /// Told of every message of prices (the `/health` of `--metrics-addr`), if any.
    pub health: Option<ops::Health>,
}

impl Default for Config {
    /// Binance's public endpoints, every update alerts, no sinks, a 10 s idle timeout.
    fn default() -> Self {
        Config {
            levels: Vec::new(),
            mode: Mode::EveryUpdate,
            verbose: false,
            exec: None,
            webhook: None,
            ws_url: "wss://stream.binance.com:9443".to_owned(),
            rest_url: "https://api.binance.com".to_owned(),
            idle_timeout: Duration::from_secs(10),
            source: None,
            health: None,
        }
    }
}

impl Config {
    /// Every problem of this configuration (the [pattern](events::Invalid)): a WebSocket
    /// base that is not `ws(s)://`, a REST base or a webhook that is not `http(s)://`, an
    /// empty `--exec` command, a zero idle timeout. [`crate::run`] refuses an invalid
    /// configuration with [`crate::Error::Config`] before it connects anywhere.
    ///
    /// ```
    /// let config = alerting::Config {
    ///     webhook: Some("ftp://hooks.example/x".into()),
    ///     ws_url: "https://stream.binance.com".into(),
    ///     ..alerting::Config::default()
    /// };
    /// let err = config.validate().unwrap_err();
    /// assert_eq!(err.to_string(), "webhook must be an http:// or https:// URL; ws_url must start with ws:// or wss://");
    /// assert!(alerting::Config::default().validate().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every problem found (URLs are not repeated: they may hold secrets).
    pub fn validate(&self) -> Result<(), Invalid> {
        let http = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        let mut problems = Vec::new();
        if self.webhook.as_deref().is_some_and(|u| !http(u)) {
            problems.push(Problem::new(
                "webhook",
                "must be an http:// or https:// URL",
            ));
        }
        if self.exec.as_deref().is_some_and(|c| c.trim().is_empty()) {
            problems.push(Problem::new("exec", "must be a command, not blank"));
        }
        if self.source.is_none() {
            if !self.ws_url.starts_with("ws://") && !self.ws_url.starts_with("wss://") {
                problems.push(Problem::new("ws_url", "must start with ws:// or wss://"));
            }
            if !http(&self.rest_url) {
                problems.push(Problem::new(
                    "rest_url",
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if self.idle_timeout.is_zero() {
            problems.push(Problem::new("idle_timeout", "must be more than 0 s"));
        }
        Invalid::check(problems)
    }
}
