//! Realistic synthetic mini-ticker events, shared by the `checkpoint` bench and the
//! `ticks_size` test (included with `#[path]`; not a bench target of its own).
//!
//! Model: `n` symbols with log-uniform prices (1e-6 .. 1e5) on a tick size of ~5 significant
//! digits; every second about half of the symbols emit an event (the `!miniTicker@arr` only
//! carries symbols that changed), each with its own event time within that second; the close moves a few ticks half of
//! the time, open/high/low rarely change, the 24h volumes drift (mostly up). Every value goes
//! through an 8-decimal string, as when parsed from Binance's JSON.
#![allow(dead_code)]

use dataset::{Tick, TickBuffer};

/// Deterministic SplitMix64, so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The 8-decimal string round trip of Binance's JSON numbers.
fn dec8(x: f64) -> f64 {
    format!("{x:.8}").parse().unwrap_or(x)
}

struct Symbol {
    name: String,
    tick: f64,
    lot: f64,
    close: f64,
    open: f64,
    high: f64,
    low: f64,
    base: f64,
    quote: f64,
}

/// One generated event; `symbol` indexes [`Synth::names`].
#[derive(Clone, Copy)]
pub struct Event {
    pub symbol: u32,
    pub event_time: i64,
    pub values: [f64; 6],
}

pub struct Synth {
    rng: Rng,
    symbols: Vec<Symbol>,
    second_ms: i64,
}

impl Synth {
    pub fn new(n_symbols: usize, start_ms: i64, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let symbols = (0..n_symbols)
            .map(|i| {
                let price = 10f64.powf(rng.unit() * 11.0 - 6.0);
                let tick = 10f64.powi(price.log10().floor() as i32 - 4).max(1e-8);
                let lot = 10f64.powi(-(rng.below(6) as i32));
                let close = dec8((price / tick).round() * tick);
                let base = dec8(lot * (1 + rng.below(1_000_000)) as f64);
                Symbol {
                    name: format!("S{i:04}{}", ["USDT", "BTC", "ETH", "BNB"][i % 4]),
                    tick,
                    lot,
                    close,
                    open: close,
                    high: dec8(close + 5.0 * tick),
                    low: dec8((close - 5.0 * tick).max(tick)),
                    base,
                    quote: dec8(base * close),
                }
            })
            .collect();
        Synth {
            rng,
            symbols,
            second_ms: start_ms,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.symbols.iter().map(|s| s.name.clone()).collect()
    }

    /// Generates `n` events, second after second.
    pub fn events(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let second = self.second_ms;
            self.second_ms += 1000;
            for (i, s) in self.symbols.iter_mut().enumerate() {
                if out.len() == n {
                    break;
                }
                if self.rng.below(2) == 0 {
                    continue;
                }
                let rng = &mut self.rng;
                if rng.below(2) == 0 {
                    let steps = 1.0 + rng.below(5) as f64;
                    let dir = if rng.below(2) == 0 { -1.0 } else { 1.0 };
                    s.close = dec8((s.close + dir * steps * s.tick).max(s.tick));
                    if s.close > s.high {
                        s.high = s.close;
                    }
                    if s.close < s.low {
                        s.low = s.close;
                    }
                }
                if rng.below(20) == 0 {
                    s.open = dec8(s.close + (rng.below(11) as f64 - 5.0) * s.tick);
                }
                if rng.below(100) == 0 {
                    s.high = dec8(s.high - s.tick).max(s.close);
                    s.low = dec8(s.low + s.tick).min(s.close);
                }
                let delta = s.lot * (rng.below(2000) as f64 - 600.0);
                let delta = if s.base + delta < 0.0 { -delta } else { delta };
                s.base = dec8(s.base + delta);
                s.quote = dec8((s.quote + delta * s.close).max(0.0));
                out.push(Event {
                    symbol: i as u32,
                    // Each element of a real array has its own `E`, spread over ~1 s.
                    event_time: second + rng.below(1000) as i64,
                    values: [s.close, s.open, s.high, s.low, s.base, s.quote],
                });
            }
        }
        out
    }
}

/// Pushes `events` into `buf`.
pub fn push_all(buf: &mut TickBuffer, names: &[String], events: &[Event]) {
    for e in events {
        let [close, open, high, low, base_volume, quote_volume] = e.values;
        buf.push(&Tick {
            symbol: &names[e.symbol as usize],
            event_time: e.event_time,
            close,
            open,
            high,
            low,
            base_volume,
            quote_volume,
        });
    }
}
