//! A simulated exchange on localhost: Binance spot WebSocket streams and REST, and the
//! CoinGecko REST API, over one HTTP/1 listener, fed by a seeded synthetic market, with
//! fault injection. End-to-end tests and demos use it instead of the real services.
//!
//! Paths: `/ws/<stream>`, `/ws`, `/stream?streams=a/b` (Binance WebSocket),
//! `/api/v3/exchangeInfo`, `/api/v3/ticker/price`, `/api/v3/ping` (Binance REST),
//! `/api/v3/coins/markets`, `/api/v3/coins/{id}/market_chart` (CoinGecko; `/api/v3/ping`
//! answers as CoinGecko when a CoinGecko key header is sent).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let config = sim::SimConfig { symbols: 100, ..sim::SimConfig::default() };
//! let sim = sim::start("127.0.0.1:0".parse().unwrap(), config).await?;
//! let url = format!("{}/ws/!miniTicker@arr", sim.ws_base());
//! // ... point the client at `url`, `sim.rest_base()`, `sim.coingecko_base()` ...
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod binance_rest;
mod coingecko;
mod config;
mod faults;
pub mod market;
pub mod nats;
pub mod s3;
mod server;
pub mod tcp_proxy;
mod ws;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;

pub use coingecko::default_coins;
pub use config::{CoinScenario, Faults, SimConfig};

use faults::{lock, FaultState};
use market::Market;
use ws::{Control, TickFrame, ALL_MARKET};

/// One mini ticker written to a socket (recorded after the send succeeded).
#[derive(Clone, Debug, PartialEq)]
pub struct SentTicker {
    /// Connection it was sent on (1, 2, ... in connection order).
    pub conn_id: u64,
    /// When the frame holding it was written, in ms since the Unix epoch.
    pub sent_at_ms: i64,
    /// `s`.
    pub symbol: String,
    /// `E`.
    pub event_time: i64,
    /// `c`, as sent.
    pub close: String,
}

/// State shared by the listener, the market task and the sessions.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) market: Mutex<Market>,
    pub(crate) coins: Mutex<Vec<CoinScenario>>,
    pub(crate) ticks: broadcast::Sender<Arc<TickFrame>>,
    pub(crate) control: broadcast::Sender<Control>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) faults: FaultState,
    pub(crate) sent: Mutex<Vec<SentTicker>>,
    pub(crate) sent_count: AtomicUsize,
    pub(crate) next_conn: AtomicU64,
    /// Raw JSON elements to append to the next `!miniTicker@arr` frame
    /// ([`SimHandle::inject_elements`]).
    extra_elements: Mutex<Vec<String>>,
    /// Open connections and their streams.
    registry: Mutex<HashMap<u64, Vec<String>>>,
    closed: Notify,
}

impl Shared {
    /// Tells every task to stop. `send_replace`, not `send`: the value must change even when
    /// no task has subscribed yet (`send` drops it without receivers, and a task subscribing
    /// later would wait forever).
    fn stop(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn register(&self, conn_id: u64, streams: &[String]) {
        lock(&self.registry).insert(conn_id, streams.to_vec());
    }

    pub(crate) fn unregister(&self, conn_id: u64) {
        lock(&self.registry).remove(&conn_id);
        self.closed.notify_waiters();
    }

    /// Symbols someone listens to: `None` means all (someone has `!miniTicker@arr`).
    fn watched(&self) -> Option<HashSet<String>> {
        let registry = lock(&self.registry);
        let mut symbols = HashSet::new();
        for stream in registry.values().flatten() {
            if stream == ALL_MARKET {
                return None;
            }
            if let Some(sym) = stream.strip_suffix("@miniTicker") {
                symbols.insert(sym.to_ascii_uppercase());
            }
        }
        Some(symbols)
    }
}

/// Starts the simulated exchange on `addr` (port 0: an ephemeral port).
///
/// Fails on a bind error, or with `InvalidInput` when an interval is zero.
///
/// # Errors
///
/// The bind error, or `InvalidInput` when one of the configured intervals is zero.
pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimHandle> {
    for (name, value) in [
        ("interval", config.interval),
        ("ping_interval", config.ping_interval),
    ] {
        if value.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name} must be > 0"),
            ));
        }
    }
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut market = Market::new(config.seed, config.symbols);
    for (symbol, path) in &config.price_paths {
        market.set_price_path(symbol, path.clone());
    }
    let shared = Arc::new(Shared {
        market: Mutex::new(market),
        coins: Mutex::new(config.coins.clone()),
        ticks: broadcast::channel(256).0,
        control: broadcast::channel(64).0,
        shutdown: watch::channel(false).0,
        faults: FaultState::new(&config.faults),
        sent: Mutex::new(Vec::new()),
        sent_count: AtomicUsize::new(0),
        next_conn: AtomicU64::new(0),
        extra_elements: Mutex::new(Vec::new()),
        registry: Mutex::new(HashMap::new()),
        closed: Notify::new(),
        config,
    });
    let accept = tokio::spawn(server::accept_loop(listener, shared.clone()));
    let ticker = tokio::spawn(market_task(shared.clone()));
    Ok(SimHandle {
        addr,
        shared,
        tasks: vec![accept, ticker],
    })
}

/// Ticks the market every `interval` and broadcasts the changed tickers.
async fn market_task(shared: Arc<Shared>) {
    let interval = shared.config.interval;
    let mut clock = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        clock.tick().await;
        let watched = shared.watched();
        let listening = |symbol: &str| watched.as_ref().is_none_or(|set| set.contains(symbol));
        let tickers = lock(&shared.market).tick_watched(server::now_ms(), &listening);
        if !tickers.is_empty() && shared.ticks.receiver_count() > 0 {
            let extra = std::mem::take(&mut *lock(&shared.extra_elements));
            let frame = TickFrame::with_extra(tickers, shared.config.non_ascii, &extra);
            let _ = shared.ticks.send(Arc::new(frame));
        }
    }
}

/// A running simulated exchange. Dropping it stops the server without waiting.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `ws://127.0.0.1:PORT` (append `/ws/<stream>` or `/stream?streams=..`).
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }
    /// `http://127.0.0.1:PORT` (Binance REST base).
    pub fn rest_base(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `http://127.0.0.1:PORT/api/v3` (CoinGecko base).
    pub fn coingecko_base(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }
    /// Every mini ticker written to a socket so far, in send order (empty when
    /// `record_sent` is off). Malformed frames are not included.
    pub fn sent(&self) -> Vec<SentTicker> {
        lock(&self.shared.sent).clone()
    }
    /// How many mini tickers were written to sockets (counted even without `record_sent`).
    pub fn sent_count(&self) -> usize {
        self.shared.sent_count.load(Ordering::Relaxed)
    }
    /// Currently open WebSocket connections.
    pub fn connections(&self) -> usize {
        lock(&self.shared.registry).len()
    }
    /// WebSocket connections accepted since start.
    pub fn connection_count_total(&self) -> u64 {
        self.shared.next_conn.load(Ordering::Relaxed)
    }
    /// Closes every WebSocket connection now, with close frame 1001.
    pub fn disconnect_all(&self) {
        let _ = self.shared.control.send(Control::Disconnect);
    }
    /// Closes one WebSocket connection (close frame 1001); unknown ids are ignored.
    pub fn disconnect(&self, conn_id: u64) {
        let _ = self.shared.control.send(Control::DisconnectOne(conn_id));
    }
    /// Ids of the open WebSocket connections, oldest first.
    pub fn open_connection_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = lock(&self.shared.registry).keys().copied().collect();
        ids.sort_unstable();
        ids
    }
    /// Drops every WebSocket connection without a close frame.
    pub fn drop_all(&self) {
        let _ = self.shared.control.send(Control::Drop);
    }
    /// Stops (true) or resumes (false) data on every connection; pings go on.
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.faults.stalled.store(stalled, Ordering::Relaxed);
    }
    /// The next `frames` data frames on every open connection are truncated JSON.
    pub fn inject_malformed(&self, frames: u32) {
        let _ = self.shared.control.send(Control::Malformed(frames));
    }
    /// Appends `elements` (raw JSON text, written as given: bad elements, absurd symbols)
    /// to the next `!miniTicker@arr` frame, after the market's own tickers. They are not in
    /// [`SimHandle::sent`].
    pub fn inject_elements(&self, elements: Vec<String>) {
        lock(&self.shared.extra_elements).extend(elements);
    }
    /// The next `n` `SUBSCRIBE` requests, on any connection, get no answer and subscribe
    /// nothing (replaces the count still to go).
    pub fn ignore_subscribes(&self, n: u32) {
        self.shared.faults.ignore_subscribes(n);
    }
    /// Sends `{"e":"serverShutdown","E":<ms>}` on every open connection.
    pub fn server_shutdown(&self) {
        let _ = self.shared.control.send(Control::ServerShutdown);
    }
    /// Replaces the coins CoinGecko serves.
    pub fn set_coins(&self, coins: Vec<CoinScenario>) {
        *lock(&self.shared.coins) = coins;
    }
    /// From now on, the next `http_429` REST requests answer 429, then the next `http_5xx`
    /// answer 503/500 (`u32::MAX`: always).
    pub fn set_http_faults(&self, http_429: u32, http_5xx: u32) {
        self.shared.faults.set_http(http_429, http_5xx);
    }
    /// REST requests served so far, e.g. `"GET /api/v3/coins/markets?vs_currency=usd"`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.faults.requests()
    }
    /// Stops accepting, closes every WebSocket connection (1001) and stops the market.
    pub async fn shutdown(mut self) {
        self.shared.stop();
        if let Some(accept) = self.tasks.first_mut() {
            let _ = accept.await;
        }
        let drained = async {
            loop {
                let notified = self.shared.closed.notified();
                if self.connections() == 0 {
                    break;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), drained).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.stop();
        for task in &self.tasks {
            task.abort();
        }
    }
}
