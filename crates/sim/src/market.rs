//! The synthetic spot market: a seeded random walk over realistic symbols, producing the
//! Binance `24hrMiniTicker` events of each tick.
//!
//! One element of `!miniTicker@arr` as Binance sends it
//! (<https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#all-market-mini-tickers-stream>):
//!
//! ```text
//! {"e":"24hrMiniTicker","E":1592594715455,"s":"ETHBTC","c":"0.02456700","o":"0.02459800",
//!  "h":"0.02470900","l":"0.02438100","v":"163116.18600000","q":"4006.04936991"}
//! ```
//!
//! Only the symbols that traded in a tick are in its array, each with its own event time `E`
//! within the last interval. Prices are multiples of the symbol's tick size written with 8
//! decimals, so they repeat as on the real exchange; the rolling 24 h open/high/low change
//! rarely and volumes grow.
//!
//! ```
//! use sim::market::Market;
//! let mut market = Market::new(7, 100);
//! let tickers = market.tick(1_700_000_000_000);
//! assert!(!tickers.is_empty() && tickers.len() < 100);
//! let text = Market::frame_json(&tickers);
//! assert!(text.starts_with(r#"[{"e":"24hrMiniTicker","E":"#));
//! ```

mod sample;
mod ticker;
mod universe;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use fastrand::Rng;

pub use sample::{sample_frames, sample_frames_with};
pub(crate) use ticker::push_json_str;
pub use ticker::{NonAscii, Ticker};
pub use universe::{SymbolInfo, SymbolStatus, UNICODE};

/// Writes an amount held in units of 1e-8 with 8 decimals, e.g. `"0.01000000"`.
pub(crate) fn fmt_units(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let u = units.unsigned_abs();
    format!("{sign}{}.{:08}", u / 100_000_000, u % 100_000_000)
}

/// Mutable state of one symbol; prices in ticks of `10^-price_decimals`.
struct State {
    symbol: Arc<str>,
    close: i64,
    open: i64,
    high: i64,
    low: i64,
    reference: f64,
    base_volume: f64,
    quote_volume: f64,
    base_usd: f64,
    volatility: f64,
    activity: f64,
    last_close: String,
    last_event: i64,
    path: Option<VecDeque<String>>,
}

/// The market generator. Deterministic: the same seed gives the same symbols and the same
/// sequence of closes and volumes, whatever the clock (only `E` follows `now_ms`).
pub struct Market {
    infos: Vec<SymbolInfo>,
    states: Vec<State>,
    index: HashMap<String, usize>,
    rng: Rng,
    jitter: Rng,
    last_tick: Option<i64>,
}

impl Market {
    /// A market of `symbols` symbols (the well-known pairs first) seeded with `seed`.
    pub fn new(seed: u64, symbols: usize) -> Self {
        let mut rng = Rng::with_seed(seed);
        let listings = universe::list(seed, symbols);
        let mut infos = Vec::with_capacity(listings.len());
        let mut states = Vec::with_capacity(listings.len());
        for l in listings {
            let scale = 10f64.powi(l.info.price_decimals as i32);
            let close = ((l.price * scale).round() as i64).max(1);
            let drift = 1.0 + (rng.f64() - 0.5) * 0.06;
            let open = ((close as f64 * drift).round() as i64).max(1);
            let high = ((close.max(open) as f64) * (1.0 + rng.f64() * 0.03)).round() as i64;
            let low = (((close.min(open) as f64) * (1.0 - rng.f64() * 0.03)).round() as i64).max(1);
            let base_volume = 10f64.powf(4.0 + rng.f64() * 4.0) / l.base_usd;
            states.push(State {
                symbol: Arc::from(l.info.symbol.as_str()),
                close,
                open,
                high,
                low,
                reference: close as f64,
                base_volume,
                quote_volume: base_volume * l.price,
                base_usd: l.base_usd,
                volatility: 0.0002 + rng.f64() * 0.0015,
                activity: 0.3 + rng.f64() * 1.4,
                last_close: String::new(),
                last_event: 0,
                path: None,
            });
            infos.push(l.info);
        }
        let mut market = Market {
            index: infos
                .iter()
                .enumerate()
                .map(|(i, s)| (s.symbol.clone(), i))
                .collect(),
            infos,
            states,
            rng,
            jitter: Rng::with_seed(seed.wrapping_add(0x9E37_79B9)),
            last_tick: None,
        };
        for i in 0..market.states.len() {
            market.states[i].last_close = market.price_str(i, market.states[i].close);
        }
        market
    }

    /// The listed symbols, in listing order.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.infos
    }

    /// The last close of `symbol` (upper-case) as sent, or `None` when it is not listed.
    pub fn last_price(&self, symbol: &str) -> Option<&str> {
        self.index
            .get(symbol)
            .map(|&i| self.states[i].last_close.as_str())
    }

    /// Scripts `symbol`: from the next tick on it emits one update per element of `closes`
    /// (close written verbatim), then never again. An unlisted symbol is added, trading.
    pub fn set_price_path(&mut self, symbol: &str, closes: Vec<String>) {
        let symbol = symbol.to_ascii_uppercase();
        let first = closes
            .first()
            .and_then(|c| c.parse::<f64>().ok())
            .unwrap_or(1.0);
        let i = match self.index.get(&symbol) {
            Some(&i) => i,
            None => self.add_symbol(symbol, first, &closes),
        };
        self.states[i].path = Some(closes.into());
    }

    fn add_symbol(&mut self, symbol: String, price: f64, closes: &[String]) -> usize {
        let decimals = closes
            .iter()
            .filter_map(|c| c.split_once('.').map(|(_, d)| d.len() as u32))
            .max()
            .unwrap_or(2)
            .min(8);
        let quote = [
            "USDT", "FDUSD", "USDC", "TUSD", "BTC", "ETH", "BNB", "TRY", "EUR", "BRL",
        ]
        .into_iter()
        .find(|q| symbol.len() > q.len() && symbol.ends_with(q))
        .unwrap_or("USDT");
        let ticks = ((price * 10f64.powi(decimals as i32)).round() as i64).max(1);
        self.infos.push(SymbolInfo {
            base: symbol[..symbol.len() - quote.len()].to_string(),
            quote: quote.to_string(),
            symbol: symbol.clone(),
            status: SymbolStatus::Trading,
            price_decimals: decimals,
            qty_decimals: 2,
            margin: false,
        });
        let i = self.states.len();
        self.states.push(State {
            symbol: Arc::from(symbol.as_str()),
            close: ticks,
            open: ticks,
            high: ticks,
            low: ticks,
            reference: ticks as f64,
            base_volume: 1000.0,
            quote_volume: 1000.0 * price,
            base_usd: price,
            volatility: 0.0,
            activity: 0.0,
            last_close: price_text(decimals, ticks),
            last_event: 0,
            path: None,
        });
        self.index.insert(symbol, i);
        i
    }

    /// Advances one tick at wall-clock time `now_ms`; returns the tickers that changed, in
    /// listing order. Every price path advances.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Ticker> {
        self.tick_watched(now_ms, &|_| true)
    }

    /// Like [`Market::tick`], but a scripted symbol for which `watched(symbol)` is false
    /// holds its path (emits nothing this tick). Unscripted symbols are not affected.
    pub fn tick_watched(&mut self, now_ms: i64, watched: &dyn Fn(&str) -> bool) -> Vec<Ticker> {
        let span = self.last_tick.map_or(1000, |t| (now_ms - t).clamp(1, 1000));
        self.last_tick = Some(now_ms);
        let fraction = 0.3 + self.rng.f64() * 0.3;
        let mut out = Vec::with_capacity(self.states.len() * 6 / 10);
        for i in 0..self.states.len() {
            let emitted = if self.states[i].path.is_some() {
                watched(&self.states[i].symbol) && self.step_path(i)
            } else if self.infos[i].status == SymbolStatus::Trading {
                let p = (fraction * self.states[i].activity).min(1.0);
                self.rng.f64() < p && {
                    self.step_walk(i);
                    true
                }
            } else {
                false
            };
            if emitted {
                out.push(self.ticker(i, now_ms, span));
            }
        }
        out
    }

    /// The `!miniTicker@arr` raw frame text for `tickers`: a bare JSON array (non-ASCII
    /// text raw).
    pub fn frame_json(tickers: &[Ticker]) -> String {
        Self::frame_json_with(tickers, NonAscii::Raw)
    }

    /// [`Market::frame_json`] with non-ASCII text written as `non_ascii` says.
    pub fn frame_json_with(tickers: &[Ticker], non_ascii: NonAscii) -> String {
        let mut out = String::with_capacity(tickers.len() * 200 + 2);
        out.push('[');
        for (n, t) in tickers.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            t.write_json_with(&mut out, non_ascii);
        }
        out.push(']');
        out
    }

    fn step_walk(&mut self, i: usize) {
        let s = &mut self.states[i];
        let rng = &mut self.rng;
        let close = s.close as f64;
        let shock = close * s.volatility * gaussian(rng);
        let pull = (s.reference - close) * 0.002;
        s.close = ((close + shock + pull).round() as i64).max(1);
        s.high = s.high.max(s.close);
        s.low = s.low.min(s.close);
        if rng.f64() < 0.02 {
            // The rolling window moved past an old trade: the open shifts a little.
            s.open = ((s.open as f64 * (1.0 + (rng.f64() - 0.5) * 0.004)).round() as i64).max(1);
            s.high = s.high.max(s.open);
            s.low = s.low.min(s.open);
        }
        if rng.f64() < 0.01 {
            // An old extreme left the window.
            let top = s.close.max(s.open);
            let bottom = s.close.min(s.open);
            s.high = top + (s.high - top) / 2;
            s.low = bottom - (bottom - s.low) / 2;
        }
        let price = self.infos[i].price_decimals;
        let qty_scale = 10f64.powi(self.infos[i].qty_decimals as i32);
        let notional_usd = 10f64.powf(1.0 + rng.f64() * 3.5);
        let qty = ((notional_usd / s.base_usd * qty_scale).round().max(1.0)) / qty_scale;
        s.base_volume += qty;
        s.quote_volume += qty * s.close as f64 / 10f64.powi(price as i32);
        s.last_close = price_text(price, s.close);
    }

    fn step_path(&mut self, i: usize) -> bool {
        let decimals = self.infos[i].price_decimals;
        let s = &mut self.states[i];
        let Some(close) = s.path.as_mut().and_then(VecDeque::pop_front) else {
            return false;
        };
        if let Ok(value) = close.parse::<f64>() {
            let ticks = ((value * 10f64.powi(decimals as i32)).round() as i64).max(1);
            s.close = ticks;
            s.high = s.high.max(ticks);
            s.low = s.low.min(ticks);
            s.base_volume += 1.0;
            s.quote_volume += value;
        }
        s.last_close = close;
        true
    }

    fn ticker(&mut self, i: usize, now_ms: i64, span: i64) -> Ticker {
        let event = (now_ms - self.jitter.i64(0..span)).max(self.states[i].last_event + 1);
        self.states[i].last_event = event;
        let s = &self.states[i];
        Ticker {
            symbol: s.symbol.clone(),
            event_time: event,
            close: s.last_close.clone(),
            open: self.price_str(i, s.open),
            high: self.price_str(i, s.high),
            low: self.price_str(i, s.low),
            base_volume: format!("{:.8}", s.base_volume),
            quote_volume: format!("{:.8}", s.quote_volume),
        }
    }

    fn price_str(&self, i: usize, ticks: i64) -> String {
        price_text(self.infos[i].price_decimals, ticks)
    }
}

/// A price of `ticks` ticks of `10^-decimals`, written with 8 decimals.
fn price_text(decimals: u32, ticks: i64) -> String {
    fmt_units(ticks.saturating_mul(10i64.pow(8 - decimals.min(8))))
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests;
