//! One hourly cycle: fetch the top coins and their histories, store them, decide, buy,
//! log the trades and the portfolio.

use chrono::{DateTime, Utc};
use ledger::{MarketFigures, MarketObservation, NewTrade, TradeOutcome, DEFAULT_PORTFOLIO};
use portfolio::{decide, submit_order, Decision, Fill, Order, Position, Report};
use pricing::{daily_average_before, CoinMarket};

use crate::ports::{Ledger, PriceSource};
use crate::report::{fmt_price, portfolio_report};

/// Coins looked at per cycle.
pub const TOP_N: u32 = 3;
/// Days in the average.
pub const AVERAGE_DAYS: u32 = 10;
/// Quote currency.
pub const VS_CURRENCY: &str = "usd";

/// How a cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// A CoinGecko call failed after its retries: nothing was written.
    #[error("cycle skipped, nothing written: {0}")]
    Api(pricing::Error),
    /// The database failed (the cycle may have stored the markets but not every trade).
    #[error(transparent)]
    Db(#[from] ledger::DbError),
}

impl From<pricing::Error> for CycleError {
    fn from(e: pricing::Error) -> Self {
        CycleError::Api(e)
    }
}

/// What a cycle did, for the summary line and the tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CycleSummary {
    /// Fills recorded this cycle.
    pub bought: Vec<Fill>,
    /// Coins whose price was at or above the average.
    pub held: usize,
    /// Coins skipped (no price, not enough history).
    pub skipped: usize,
    /// Coins already bought in this hourly slot.
    pub already_bought: usize,
    /// The portfolio after the cycle (logged as `PORTFOLIO` lines, and the portfolio
    /// gauges of [`crate::metrics`]).
    pub portfolio: Report,
}

/// Who trades, and what a simulated fill costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The portfolio the cycle's trades and positions belong to.
    pub portfolio: String,
    /// Fee of a simulated fill, in basis points of the notional (0: none).
    pub fee_bps: f64,
}

impl Default for Account {
    /// The `default` portfolio, without fee.
    fn default() -> Self {
        Account {
            portfolio: DEFAULT_PORTFOLIO.to_owned(),
            fee_bps: 0.0,
        }
    }
}

/// Where a simulated fill's price comes from, as stored with each trade.
pub const PRICE_SOURCE: &str = "coingecko:markets.current_price";

/// A coin with everything needed for the decision.
struct Candidate {
    coin: CoinMarket,
    price: f64,
    average: f64,
}

/// Runs one cycle at time `now` (its hour is the trade slot).
///
/// Every API call is made before anything is written, so a cycle whose calls fail after
/// their retries writes nothing. A coin with a `null` price, or too short a history, is
/// skipped with a warning. Each buy commits its trade and position in one transaction;
/// a buy refused by the (portfolio, coin, hour) unique key (possibly taken a moment ago by
/// another process) is "already bought this hour". Trades go to `account.portfolio`,
/// fills pay `account.fee_bps` and say where their price came from.
///
/// # Errors
/// [`CycleError::Api`] when a price call fails (nothing written); [`CycleError::Db`] when
/// the ledger fails (the markets, and the trades before the failure, may be stored).
pub async fn run_cycle<P: PriceSource, L: Ledger>(
    cg: &P,
    store: &mut L,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<CycleSummary, CycleError> {
    let mut summary = CycleSummary::default();
    let markets = cg.top_markets(VS_CURRENCY, TOP_N).await?;
    let mut observed = Vec::with_capacity(markets.len());
    let mut candidates = Vec::with_capacity(markets.len());
    for coin in markets {
        let mut avg = None;
        match coin.current_price {
            Some(p) if p.is_finite() && p > 0.0 => {
                let chart = cg
                    .market_chart_daily(&coin.id, VS_CURRENCY, AVERAGE_DAYS)
                    .await?;
                // Nothing at or after the live price's time reaches the average.
                let live_at = coin.last_updated.map(|t| t.timestamp_millis());
                match daily_average_before(&chart.prices, AVERAGE_DAYS as usize, live_at) {
                    Ok(a) => {
                        avg = Some(a);
                        candidates.push(Candidate {
                            coin: coin.clone(),
                            price: p,
                            average: a,
                        });
                    }
                    Err(e) => {
                        log::warn!(
                            "skipping {}: no {AVERAGE_DAYS}-day average ({e})",
                            label(&coin)
                        );
                        summary.skipped += 1;
                    }
                }
            }
            other => {
                let why = other.map_or("null".to_owned(), |p| p.to_string());
                log::warn!(
                    "skipping {}: CoinGecko gave no usable current price ({why})",
                    label(&coin)
                );
                summary.skipped += 1;
            }
        }
        observed.push(observation(&coin, avg));
    }

    store.record_markets(&observed, now).await?;

    for c in candidates {
        let verdict = decide(c.price, c.average);
        log::info!(
            "{}: price {} vs {AVERAGE_DAYS}-day average {} -> {}",
            label(&c.coin),
            fmt_price(c.price),
            fmt_price(c.average),
            if verdict == Decision::Buy {
                "BUY"
            } else {
                "HOLD"
            }
        );
        if verdict == Decision::Hold {
            summary.held += 1;
            continue;
        }
        // The price was checked finite and positive above, the quantity is 1.
        let order = Order::buy(&c.coin.id, 1.0).with_fee_bps(account.fee_bps);
        let fill = match submit_order(&order, c.price, now) {
            Ok(f) => f,
            Err(e) => {
                log::warn!("order for {} refused: {e}", label(&c.coin));
                summary.skipped += 1;
                continue;
            }
        };
        let trade = NewTrade {
            portfolio: account.portfolio.clone(),
            coin_id: fill.coin_id.clone(),
            side: fill.side,
            quantity: fill.quantity,
            price: fill.price,
            executed_at: fill.executed_at,
            fee: fill.fee,
            price_source: PRICE_SOURCE.into(),
            price_at: c.coin.last_updated,
        };
        let applied = fill.clone();
        let outcome = store
            .record_trade(&trade, move |mut held: Position| {
                // Same coin by construction, and a buy cannot oversell; were it refused,
                // the trade would be rolled back with it and the cycle fail.
                held.apply(&applied)?;
                Ok(held)
            })
            .await?;
        match outcome {
            TradeOutcome::Recorded(pos) => {
                let fee = if fill.fee > 0.0 {
                    format!(", fee {} USD", fmt_price(fill.fee))
                } else {
                    String::new()
                };
                log::info!(
                    "TRADE buy {} {} at {} USD (position {} @ avg cost {}){fee}",
                    fill.quantity,
                    c.coin.symbol.to_uppercase(),
                    fmt_price(fill.price),
                    pos.quantity,
                    fmt_price(pos.avg_cost)
                );
                summary.bought.push(fill);
            }
            TradeOutcome::AlreadyTradedThisSlot => {
                log::info!(
                    "{}: already bought in the {} UTC slot of portfolio '{}' (by this or \
                     another run), no new order",
                    label(&c.coin),
                    ledger::hour_slot(now).format("%Y-%m-%d %H:00"),
                    account.portfolio
                );
                summary.already_bought += 1;
            }
        }
    }

    let report = portfolio_report(store.positions(&account.portfolio).await?);
    for h in &report.holdings {
        log::info!("PORTFOLIO {}", h.line());
    }
    log::info!("PORTFOLIO {}", report.total_line());
    summary.portfolio = report;
    Ok(summary)
}

fn label(c: &CoinMarket) -> String {
    format!("{} ({})", c.symbol.to_uppercase(), c.name)
}

fn observation(c: &CoinMarket, avg: Option<f64>) -> MarketObservation {
    MarketObservation {
        coin_id: c.id.clone(),
        symbol: c.symbol.clone(),
        name: c.name.clone(),
        figures: MarketFigures {
            current_price: c.current_price,
            market_cap: c.market_cap,
            market_cap_rank: c.market_cap_rank.and_then(|r| i32::try_from(r).ok()),
            total_volume: c.total_volume,
            last_updated: c.last_updated.map(|t| t.naive_utc()),
            avg_price_10d: avg,
        },
    }
}
