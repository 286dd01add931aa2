//! What a simulated exchange is started with: market size and pace, WebSocket timers,
//! scripted price paths, CoinGecko coins and the faults to inject.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::market::NonAscii;

/// Configuration of one simulated exchange, given to [`crate::start`].
///
/// ```
/// use std::time::Duration;
/// let config = sim::SimConfig {
///     interval: Duration::from_millis(50),
///     price_paths: vec![("BTCUSDT".into(), vec!["100.00".into(), "101.50".into()])],
///     ..sim::SimConfig::default()
/// };
/// assert!(config.faults.pong_check);
/// ```
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the synthetic market and of the default coins: same seed, same prices.
    pub seed: u64,
    /// Number of spot symbols listed (the well-known ones such as BTCUSDT come first).
    pub symbols: usize,
    /// Time between two market ticks (Binance pushes `!miniTicker@arr` every 1000 ms).
    pub interval: Duration,
    /// Time between two Ping frames the server sends on each connection (Binance: 20 s).
    pub ping_interval: Duration,
    /// A connection that has not answered a ping within this time is closed (Binance: 60 s).
    pub pong_timeout: Duration,
    /// A connection is cut when it is this old (Binance: 24 h).
    pub max_connection_age: Duration,
    /// Scripted closes: the symbol emits exactly one update per element, with `c` set to the
    /// string verbatim, then never again. A path only advances on ticks where at least one
    /// connection is subscribed to the symbol, so a client connecting late misses nothing.
    pub price_paths: Vec<(String, Vec<String>)>,
    /// The coins CoinGecko serves.
    pub coins: Vec<CoinScenario>,
    /// Faults to inject from the start.
    pub faults: Faults,
    /// Keep a log of every mini ticker written to a socket (see [`crate::SimHandle::sent`]).
    pub record_sent: bool,
    /// How non-ASCII text (the UTF-8 symbols such as `币安人生USDT`) is written in the
    /// WebSocket JSON: raw UTF-8 (the default) or `\uXXXX` escapes.
    pub non_ascii: NonAscii,
}

impl Default for SimConfig {
    fn default() -> Self {
        let seed = 42;
        SimConfig {
            seed,
            symbols: 1500,
            interval: Duration::from_millis(1000),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_connection_age: Duration::from_secs(24 * 3600),
            price_paths: Vec::new(),
            coins: crate::coingecko::default_coins(seed),
            faults: Faults {
                pong_check: true,
                ..Faults::default()
            },
            record_sent: true,
            non_ascii: NonAscii::Raw,
        }
    }
}

/// Faults injected into the WebSocket and REST answers.
///
/// A data message is one text frame carrying market data (a `!miniTicker@arr` array or one
/// `<symbol>@miniTicker` object); control answers, pings and `serverShutdown` do not count.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Close each connection (close frame 1001) after it has been sent this many data messages.
    pub close_after: Option<u64>,
    /// Stop sending data to each connection after this many data messages; pings go on and
    /// the socket stays open.
    pub stall_after: Option<u64>,
    /// Every Nth data message of each connection is truncated JSON.
    pub malformed_every: Option<u64>,
    /// Close connections that do not answer pings within `pong_timeout`.
    /// `false` in `Faults::default()`, `true` in `SimConfig::default()`.
    pub pong_check: bool,
    /// The first N REST requests (Binance and CoinGecko together) answer HTTP 429.
    pub http_429: u32,
    /// CoinGecko's 429 body is sent with HTTP 200 (as its free tier is reported to do).
    pub cg_429_as_200: bool,
    /// After the 429s, the next N REST requests answer 503 and 500 alternately
    /// (`u32::MAX`: always).
    pub http_5xx: u32,
    /// The next N `SUBSCRIBE` requests, on any connection, get no answer and subscribe
    /// nothing (a request lost on the way; see [`crate::SimHandle::ignore_subscribes`]).
    pub ignore_subscribes: u32,
}

/// One coin served by the simulated CoinGecko.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CoinScenario {
    /// CoinGecko id, e.g. `bitcoin`.
    pub id: String,
    /// Lower-case ticker, e.g. `btc`.
    pub symbol: String,
    /// Display name, e.g. `Bitcoin`.
    pub name: String,
    /// Live USD price; `None` is served as `null` (the last daily close is the chart's live point).
    pub current_price: Option<f64>,
    /// USD market cap; `/coins/markets` is ranked by it.
    pub market_cap: f64,
    /// 24 h USD volume.
    pub total_volume: f64,
    /// Daily closes at 00:00 UTC, oldest first, the last one being today's midnight.
    pub daily: Vec<f64>,
}
