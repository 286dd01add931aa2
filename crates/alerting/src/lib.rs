//! The alerting pipeline: a Binance mini-ticker stream in, alert lines and sink deliveries
//! out, around the decisions of the [`alert`] crate.
//!
//! ```text
//! binance::rest (symbol exists and trades?) ─▶ binance::manager ─▶ Feed ─▶ alert::Watcher
//!                                                                 └─▶ stdout · Sinks (--exec, --webhook)
//! ```
//!
//! The `alerter` binary only parses flags into a [`Config`], hands [`run`] its
//! [`Terminal`] (where prompts are read and alert lines written) and maps the result to an
//! exit code; [`feed::Feed`], [`sinks::Sinks`] and [`prompt::ask_level`] can be used on
//! their own.
//!
//! ```no_run
//! # async fn demo() -> Result<(), alerting::Error> {
//! use alert::{Direction, Level, Mode};
//! let level = Level::parse("BTCUSDT".parse().unwrap(), Direction::Above, "70000").unwrap();
//! let config = alerting::Config {
//!     levels: vec![level],
//!     ..alerting::Config::default()
//! };
//! // alert lines on stdout until SIGINT/SIGTERM
//! alerting::run(config, alerting::Terminal::stdio()).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod bus_source;
mod config;
mod error;
pub mod feed;
pub mod metrics;
pub mod prompt;
pub mod sinks;

pub use config::Config;
pub use error::{Error, Stopped};

use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

use alert::{Level, Symbol, Watcher};
use binance::rest::{RestClient, RestError};

use crate::bus_source::BusSource;
use crate::feed::Feed;
use crate::prompt::{check_patiently, Asked, CheckSymbol, SymbolCheck};
use crate::sinks::Sinks;

/// Printed on stdout on SIGINT/SIGTERM, as the original did.
pub const EXIT_LINE: &str = "Received exit, exiting";

/// Where [`run`] reads its prompt answers and writes what it prints: the user's terminal
/// ([`Terminal::stdio`]), or a test's buffers.
pub struct Terminal {
    /// The answers to the prompts (interactive mode, no level given).
    pub input: Box<dyn tokio::io::AsyncBufRead + Unpin + Send>,
    /// Alert lines, the prompts and the exit line.
    pub out: Box<dyn Write + Send>,
    /// What the prompts say of a bad answer.
    pub err: Box<dyn Write + Send>,
}

impl Terminal {
    /// The process's stdin, stdout and stderr.
    pub fn stdio() -> Terminal {
        Terminal {
            input: Box::new(tokio::io::BufReader::new(tokio::io::stdin())),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
        }
    }
}

impl CheckSymbol for RestClient {
    async fn check(&self, symbol: &Symbol) -> SymbolCheck {
        match self.symbol_info(symbol.as_str()).await {
            Ok(info) if info.status.is_trading() => SymbolCheck::Trading,
            Ok(info) => SymbolCheck::NotTrading(info.status.to_string()),
            Err(RestError::UnknownSymbol(_)) => SymbolCheck::Unknown,
            Err(e) => SymbolCheck::Failed(e.to_string()),
        }
    }
}

/// Runs until a signal (after printing [`EXIT_LINE`]), end of input at a prompt, or a
/// failure. Alert lines (and the prompts, when no level is given) go to `term.out`.
///
/// # Errors
/// An invalid configuration ([`Config::validate`]), a bad REST URL, a symbol that is unknown
/// or not trading, or a symbol check that fails
/// (before anything is watched); a prompt that cannot be read, stdout that cannot be
/// written, or a stream manager that gave up.
pub async fn run(config: Config, term: Terminal) -> Result<Stopped, Error> {
    config.validate().map_err(Error::Config)?;
    let Terminal {
        mut input,
        mut out,
        mut err,
    } = term;
    let rest = RestClient::new(&config.rest_url).map_err(Error::RestUrl)?;
    let mut shutdown = logging::shutdown_signal(|_, _| {}).map_err(Error::Signals)?;
    let levels = if config.levels.is_empty() {
        let asked = tokio::select! {
            asked = prompt::ask_level(&mut input, &mut out, &mut err, &rest) => asked.map_err(Error::Prompt)?,
            () = logging::requested(&mut shutdown) => return Ok(say_exit(&mut out)),
        };
        match asked {
            Asked::Level(level) => vec![level],
            Asked::EndOfInput => return Ok(Stopped::EndOfInput),
            Asked::CheckFailed { symbol, why } => return Err(Error::CheckFailed { symbol, why }),
        }
    } else {
        tokio::select! {
            checked = check_symbols(&rest, &config.levels) => checked?,
            () = logging::requested(&mut shutdown) => return Ok(say_exit(&mut out)),
        }
        config.levels
    };
    let sinks = Sinks::start(config.exec, config.webhook).map_err(Error::Sinks)?;
    let watcher = Watcher::new(levels, config.mode);
    if let Some(source) = &config.source {
        let symbols: Vec<String> = watcher.symbols().iter().map(|s| s.to_string()).collect();
        log::info!(
            "watching {} symbol(s) on {}",
            symbols.len(),
            source.server()
        );
        // Waits for the server as the direct path waits for the exchange (see bus::subscribe).
        let items = tokio::select! {
            items = bus::subscribe(source, &symbols) => items.map_err(Error::Bus)?,
            () = logging::requested(&mut shutdown) => return Ok(say_exit(&mut out)),
        };
        let feed = Feed::new(watcher, config.verbose, sinks);
        let source = BusSource::new(source.server());
        return follow_bus(items, source, feed, &mut out, &mut shutdown).await;
    }
    let (handle, mut items, later) = open_stream(&config.ws_url, &watcher, config.idle_timeout);
    let mut feed = Feed::new(watcher, config.verbose, sinks);
    let outcome = tokio::select! {
        failure = async {
            while let Some(item) = items.recv().await {
                if let (Some(h), binance::StreamItem::Message { .. }) = (&config.health, &item) {
                    h.activity();
                }
                if let Err(e) = feed.handle(&item, &mut out) {
                    return Error::Stdout(e);
                }
            }
            Error::StreamEnded
        } => Err(failure),
        never = subscribe_then_idle(&handle, later) => match never {},
        () = logging::requested(&mut shutdown) => Ok(say_exit(&mut out)),
    };
    handle.shutdown().await;
    outcome
}

/// The bus version of [`run`]'s loop: events straight into the feed (decoded there, once),
/// the other bus items as the stream items of a direct connection, through the same feed.
async fn follow_bus(
    mut items: tokio::sync::mpsc::Receiver<bus::BusItem>,
    mut source: BusSource,
    mut feed: Feed,
    mut out: &mut (dyn Write + Send),
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Stopped, Error> {
    tokio::select! {
        failure = async {
            while let Some(item) = items.recv().await {
                if let Err(e) = source.apply(item, &mut feed, &mut out) {
                    return Error::Stdout(e);
                }
            }
            Error::StreamEnded
        } => Err(failure),
        () = logging::requested(shutdown) => Ok(say_exit(out)),
    }
}

/// Opens ONE combined-stream connection (`/stream?streams=<first>`) for the watcher's
/// symbols; returns the other stream names, to be sent with `SUBSCRIBE` on that same
/// connection by [`subscribe_then_idle`] (the stream manager paces control messages to
/// Binance's 5 per second and re-subscribes after every reconnect).
pub fn open_stream(
    ws_url: &str,
    watcher: &Watcher,
    idle_timeout: std::time::Duration,
) -> (
    binance::StreamHandle,
    tokio::sync::mpsc::Receiver<binance::StreamItem>,
    Vec<String>,
) {
    let mut names: Vec<String> = watcher.symbols().iter().map(Symbol::stream_name).collect();
    let later = names.split_off(names.len().min(1));
    log::info!(
        "watching {} stream(s) over {ws_url}",
        names.len() + later.len()
    );
    let mut config = binance::StreamConfig::new(ws_url, names);
    config.combined = true;
    config.idle_timeout = idle_timeout;
    let (handle, items) = binance::spawn(config);
    (handle, items, later)
}

/// Subscribes `streams` (if any), logs the outcome naming them, then waits forever (for
/// `select!`).
///
/// An unanswered `SUBSCRIBE` is the stream manager's to retry (again after 1 s, 2 s, then
/// on a new connection that carries the streams); only a refusal is final here.
pub async fn subscribe_then_idle(
    handle: &binance::StreamHandle,
    streams: Vec<String>,
) -> Infallible {
    if !streams.is_empty() {
        let names = streams.join(", ");
        match handle.subscribe(streams).await {
            Ok(()) => log::info!("following {names} as well"),
            Err(e) => log::error!("subscribing to {names} failed: {e}; no alerts for them"),
        }
    }
    std::future::pending::<Infallible>().await
}

/// Prints [`EXIT_LINE`]; a clean exit follows.
fn say_exit(out: &mut (dyn Write + Send)) -> Stopped {
    // Nothing useful to do if stdout is gone while exiting.
    let _ = writeln!(out, "{EXIT_LINE}").and_then(|()| out.flush());
    Stopped::Signal
}

/// Every symbol must exist and trade; otherwise a usage error naming it. A check that
/// fails is tried again ([`check_patiently`]) before it is an error.
async fn check_symbols(rest: &RestClient, levels: &[Level]) -> Result<(), Error> {
    let mut symbols: Vec<&Symbol> = levels.iter().map(|l| &l.symbol).collect();
    symbols.sort();
    symbols.dedup();
    for symbol in symbols {
        let retrying = |why: &str, wait: Duration| {
            log::warn!("could not check symbol {symbol}: {why}; checking again in {wait:?}");
            Ok(())
        };
        // The closure never fails: it only logs.
        let checked = check_patiently(rest, symbol, retrying)
            .await
            .unwrap_or_else(|e| SymbolCheck::Failed(e.to_string()));
        match checked {
            SymbolCheck::Trading => {}
            SymbolCheck::Unknown => return Err(Error::UnknownSymbol(symbol.clone())),
            SymbolCheck::NotTrading(status) => {
                return Err(Error::NotTrading {
                    symbol: symbol.clone(),
                    status,
                })
            }
            SymbolCheck::Failed(why) => {
                return Err(Error::CheckFailed {
                    symbol: symbol.clone(),
                    why,
                })
            }
        }
    }
    Ok(())
}

/// Grace period for the stream manager to close its connection at exit.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
