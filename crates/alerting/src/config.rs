//! [`Config`]: what the pipeline needs to know.

use std::time::Duration;

use alert::{Level, Mode};

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
        }
    }
}
