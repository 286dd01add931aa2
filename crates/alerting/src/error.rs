//! How [`run`](crate::run) ends.

use alert::Symbol;
use binance::rest::RestError;

/// How [`run`](crate::run) ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Signal,
    /// End of input at the interactive prompt.
    EndOfInput,
}

/// Why the pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid ([`crate::Config::validate`]): every problem at once.
    #[error("invalid configuration: {0}")]
    Config(events::Invalid),
    /// The REST base URL cannot be used.
    #[error(transparent)]
    RestUrl(RestError),
    /// A watched symbol is not listed.
    #[error("unknown symbol {0}")]
    UnknownSymbol(Symbol),
    /// A watched symbol is listed but does not trade now.
    #[error("symbol {symbol} is not trading now (status {status})")]
    NotTrading {
        /// The symbol.
        symbol: Symbol,
        /// Its status (`BREAK`, `HALT`, ...).
        status: String,
    },
    /// The exchange could not be asked about a symbol.
    #[error("could not check symbol {symbol}: {why}")]
    CheckFailed {
        /// The symbol.
        symbol: Symbol,
        /// What went wrong.
        why: String,
    },
    /// Reading the interactive answers failed.
    #[error(transparent)]
    Prompt(std::io::Error),
    /// The webhook's HTTP client could not be built.
    #[error(transparent)]
    Sinks(reqwest::Error),
    /// Alert lines cannot be written.
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    /// `--source`: a NATS configuration no attempt can work with (an unreadable credentials
    /// file); an unreachable server is waited for, not an error.
    #[error(transparent)]
    Bus(bus::BusError),
    /// SIGINT/SIGTERM cannot be watched.
    #[error("cannot watch SIGINT/SIGTERM: {0}")]
    Signals(std::io::Error),
    /// The stream manager gave up.
    #[error("the price stream stopped for good")]
    StreamEnded,
}

impl Error {
    /// True for bad usage or configuration (the binary exits 2), false for runtime failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::RestUrl(_)
                | Error::UnknownSymbol(_)
                | Error::NotTrading { .. }
        )
    }
}
