//! A cycle and the loop against in-memory fakes of [`PriceSource`] and [`Ledger`]: no
//! simulator, no database.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ledger::{
    hour_slot, DbError, MarketObservation, NewTrade, PositionRow, PositionUpdate, PositionView,
    TradeOutcome,
};
use pricing::{ApiErrorBody, CoinMarket, MarketChart, PricePoint};

use crate::daemon::{self, DaemonReport};
use crate::ports::{Ledger, OpenLedger, PriceSource};
use crate::schedule::Cadence;
use crate::{run_cycle, Account, CycleError};

/// Coins with a current price and the ten daily prices that make its average.
struct FakePrices {
    coins: Vec<(CoinMarket, Vec<f64>)>,
    /// `market_chart` of this coin id fails.
    failing_chart: Option<&'static str>,
    chart_calls: AtomicU32,
}

fn coin(id: &str, price: Option<f64>) -> CoinMarket {
    CoinMarket {
        id: id.to_owned(),
        symbol: id[..3].to_owned(),
        name: id.to_owned(),
        current_price: price,
        market_cap: Some(1e9),
        market_cap_rank: Some(1),
        total_volume: None,
        last_updated: None,
    }
}

fn api_error(endpoint: &str) -> pricing::Error {
    pricing::Error::Api {
        endpoint: endpoint.to_owned(),
        status: 404,
        body: ApiErrorBody::parse(br#"{"error":"coin not found"}"#),
    }
}

impl FakePrices {
    /// bitcoin is below its average (buy), ethereum above (hold), tether has no price.
    fn standard() -> FakePrices {
        FakePrices {
            coins: vec![
                (coin("bitcoin", Some(90.0)), vec![100.0; 10]),
                (coin("ethereum", Some(110.0)), vec![100.0; 10]),
                (coin("tether", None), vec![1.0; 10]),
            ],
            failing_chart: None,
            chart_calls: AtomicU32::new(0),
        }
    }
}

impl PriceSource for FakePrices {
    fn top_markets(
        &self,
        _vs: &str,
        n: u32,
    ) -> impl Future<Output = Result<Vec<CoinMarket>, pricing::Error>> + Send {
        let coins = self.coins.iter().take(n as usize).map(|(c, _)| c.clone());
        std::future::ready(Ok(coins.collect()))
    }

    fn market_chart_daily(
        &self,
        id: &str,
        _vs: &str,
        days: u32,
    ) -> impl Future<Output = Result<MarketChart, pricing::Error>> + Send {
        self.chart_calls.fetch_add(1, Ordering::SeqCst);
        let answer = if self.failing_chart == Some(id) {
            Err(api_error(&format!("/coins/{id}/market_chart")))
        } else {
            let (c, daily) = self
                .coins
                .iter()
                .find(|(c, _)| c.id == id)
                .expect("the cycle asks only for listed coins");
            let day = 86_400_000;
            let mut prices: Vec<PricePoint> = daily
                .iter()
                .take(days as usize)
                .enumerate()
                .map(|(i, p)| PricePoint {
                    timestamp_ms: i as i64 * day,
                    price: Some(*p),
                })
                .collect();
            prices.push(PricePoint {
                timestamp_ms: days as i64 * day,
                price: c.current_price,
            });
            Ok(MarketChart { prices })
        };
        std::future::ready(answer)
    }
}

/// The ledger in memory, with the database's (portfolio, coin, hourly slot) unique key.
#[derive(Debug, Default)]
struct FakeLedger {
    markets: Vec<(DateTime<Utc>, Vec<MarketObservation>)>,
    trades: Vec<NewTrade>,
    slots: HashSet<(String, String, chrono::NaiveDateTime)>,
    /// By (portfolio, coin).
    positions: HashMap<(String, String), PositionRow>,
    names: HashMap<String, (String, String)>,
    /// Every call fails (an outage).
    down: bool,
}

fn outage() -> DbError {
    DbError::Connect {
        url: "fake".into(),
        message: "the fake database is down".into(),
    }
}

/// The fake answers at once: its [`Ledger`] futures are ready.
impl FakeLedger {
    fn record_markets_now(
        &mut self,
        observed: &[MarketObservation],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        if self.down {
            return Err(outage());
        }
        for o in observed {
            self.names
                .insert(o.coin_id.clone(), (o.symbol.clone(), o.name.clone()));
        }
        self.markets.push((now, observed.to_vec()));
        Ok(())
    }

    fn record_trade_now<F>(&mut self, trade: &NewTrade, update: F) -> Result<TradeOutcome, DbError>
    where
        F: PositionUpdate,
    {
        if self.down {
            return Err(outage());
        }
        if !self.slots.insert((
            trade.portfolio.clone(),
            trade.coin_id.clone(),
            hour_slot(trade.executed_at),
        )) {
            return Ok(TradeOutcome::AlreadyTradedThisSlot);
        }
        let key = (trade.portfolio.clone(), trade.coin_id.clone());
        let held = self.positions.get(&key).map_or_else(
            || portfolio::Position::empty(&trade.coin_id),
            |row| portfolio::Position {
                coin_id: row.coin_id.clone(),
                quantity: row.quantity,
                avg_cost: row.avg_cost,
            },
        );
        let new = update(held).map_err(DbError::Position)?;
        let row = PositionRow {
            portfolio: trade.portfolio.clone(),
            coin_id: trade.coin_id.clone(),
            quantity: new.quantity,
            avg_cost: new.avg_cost,
            updated_at: trade.executed_at.naive_utc(),
        };
        self.positions.insert(key, row.clone());
        self.trades.push(trade.clone());
        Ok(TradeOutcome::Recorded(row))
    }

    fn positions_now(&mut self, portfolio: &str) -> Result<Vec<PositionView>, DbError> {
        if self.down {
            return Err(outage());
        }
        let mut views: Vec<PositionView> = self
            .positions
            .values()
            .filter(|p| p.portfolio == portfolio)
            .map(|p| {
                let (symbol, name) = self.names[&p.coin_id].clone();
                PositionView {
                    coin_id: p.coin_id.clone(),
                    symbol,
                    name,
                    quantity: p.quantity,
                    avg_cost: p.avg_cost,
                    last_price: None,
                }
            })
            .collect();
        views.sort_by(|a, b| a.coin_id.cmp(&b.coin_id));
        Ok(views)
    }
}

impl Ledger for FakeLedger {
    fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        std::future::ready(self.record_markets_now(observed, now))
    }

    fn record_trade<F>(
        &mut self,
        trade: &NewTrade,
        update: F,
    ) -> impl Future<Output = Result<TradeOutcome, DbError>> + Send
    where
        F: PositionUpdate,
    {
        std::future::ready(self.record_trade_now(trade, update))
    }

    fn positions(
        &mut self,
        portfolio: &str,
    ) -> impl Future<Output = Result<Vec<PositionView>, DbError>> + Send {
        std::future::ready(self.positions_now(portfolio))
    }
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0)
        .single()
        .expect("a valid time")
}

#[tokio::test]
async fn a_cycle_buys_below_the_average_holds_above_and_skips_no_price() {
    let prices = FakePrices::standard();
    let mut ledger = FakeLedger::default();
    let summary = run_cycle(&prices, &mut ledger, &Account::default(), at(19, 5))
        .await
        .unwrap();
    assert_eq!(
        (summary.bought.len(), summary.held, summary.skipped),
        (1, 1, 1)
    );
    assert_eq!(summary.bought[0].coin_id, "bitcoin");
    assert_eq!(summary.bought[0].price, 90.0);
    // Every coin's market is stored, with its average when it has one.
    let (when, observed) = &ledger.markets[0];
    assert_eq!(*when, at(19, 5));
    let averages: Vec<(&str, Option<f64>)> = observed
        .iter()
        .map(|o| (o.coin_id.as_str(), o.figures.avg_price_10d))
        .collect();
    assert_eq!(
        averages,
        [
            ("bitcoin", Some(100.0)),
            ("ethereum", Some(100.0)),
            ("tether", None)
        ]
    );
    // No chart is asked for a coin without a price.
    assert_eq!(prices.chart_calls.load(Ordering::SeqCst), 2);
    let trade = &ledger.trades[0];
    assert_eq!(
        (trade.coin_id.as_str(), trade.quantity, trade.price),
        ("bitcoin", 1.0, 90.0)
    );
    let pos = &ledger.positions[&("default".to_owned(), "bitcoin".to_owned())];
    assert_eq!((pos.quantity, pos.avg_cost), (1.0, 90.0));
}

#[tokio::test]
async fn a_coin_is_bought_once_per_hourly_slot() {
    let prices = FakePrices::standard();
    let mut ledger = FakeLedger::default();
    run_cycle(&prices, &mut ledger, &Account::default(), at(19, 5))
        .await
        .unwrap();
    let again = run_cycle(&prices, &mut ledger, &Account::default(), at(19, 45))
        .await
        .unwrap();
    assert_eq!((again.bought.len(), again.already_bought), (0, 1));
    let next_hour = run_cycle(&prices, &mut ledger, &Account::default(), at(20, 0))
        .await
        .unwrap();
    assert_eq!(next_hour.bought.len(), 1);
    let pos = &ledger.positions[&("default".to_owned(), "bitcoin".to_owned())];
    assert_eq!((pos.quantity, pos.avg_cost), (2.0, 90.0));
    assert_eq!(ledger.trades.len(), 2);
}

#[tokio::test]
async fn two_portfolios_buy_in_the_same_hour_and_the_fee_is_a_cost() {
    let prices = FakePrices::standard();
    let mut ledger = FakeLedger::default();
    let alice = Account {
        portfolio: "alice".into(),
        fee_bps: 100.0, // 1 %
    };
    let first = run_cycle(&prices, &mut ledger, &Account::default(), at(19, 5))
        .await
        .unwrap();
    let second = run_cycle(&prices, &mut ledger, &alice, at(19, 6))
        .await
        .unwrap();
    assert_eq!((first.bought.len(), second.bought.len()), (1, 1));
    let again = run_cycle(&prices, &mut ledger, &alice, at(19, 50))
        .await
        .unwrap();
    assert_eq!((again.bought.len(), again.already_bought), (0, 1));
    let fees: Vec<(&str, f64, &str)> = ledger
        .trades
        .iter()
        .map(|t| (t.portfolio.as_str(), t.fee, t.price_source.as_str()))
        .collect();
    assert_eq!(
        fees,
        [
            ("default", 0.0, crate::cycle::PRICE_SOURCE),
            ("alice", 0.9, crate::cycle::PRICE_SOURCE)
        ]
    );
    let pos = &ledger.positions[&("alice".to_owned(), "bitcoin".to_owned())];
    assert_eq!((pos.quantity, pos.avg_cost), (1.0, 90.9));
}

#[tokio::test]
async fn a_failed_price_call_writes_nothing() {
    let mut prices = FakePrices::standard();
    prices.failing_chart = Some("ethereum");
    let mut ledger = FakeLedger::default();
    let err = run_cycle(&prices, &mut ledger, &Account::default(), at(19, 5))
        .await
        .unwrap_err();
    assert!(matches!(err, CycleError::Api(_)), "{err}");
    assert!(ledger.markets.is_empty() && ledger.trades.is_empty());
}

#[tokio::test]
async fn a_ledger_failure_is_a_database_error() {
    let prices = FakePrices::standard();
    let mut ledger = FakeLedger {
        down: true,
        ..FakeLedger::default()
    };
    let err = run_cycle(&prices, &mut ledger, &Account::default(), at(19, 5))
        .await
        .unwrap_err();
    assert!(matches!(err, CycleError::Db(_)), "{err}");
}

/// Opens a shared [`FakeLedger`] that is unreachable for the first `down_opens` attempts;
/// asks the loop to stop after `stop_after` opens.
struct FakeOpener {
    ledger: Arc<Mutex<FakeLedger>>,
    opens: AtomicU32,
    down_opens: u32,
    stop_after: u32,
    stop: tokio::sync::watch::Sender<bool>,
}

/// A handle on the shared fake ledger.
struct Shared(Arc<Mutex<FakeLedger>>);

impl Ledger for Shared {
    fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        std::future::ready(self.0.lock().unwrap().record_markets_now(observed, now))
    }

    fn record_trade<F>(
        &mut self,
        trade: &NewTrade,
        update: F,
    ) -> impl Future<Output = Result<TradeOutcome, DbError>> + Send
    where
        F: PositionUpdate,
    {
        std::future::ready(self.0.lock().unwrap().record_trade_now(trade, update))
    }

    fn positions(
        &mut self,
        portfolio: &str,
    ) -> impl Future<Output = Result<Vec<PositionView>, DbError>> + Send {
        std::future::ready(self.0.lock().unwrap().positions_now(portfolio))
    }
}

impl OpenLedger for FakeOpener {
    type Ledger = Shared;

    fn open(&self) -> impl Future<Output = Result<Shared, DbError>> + Send {
        let n = self.opens.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.stop_after {
            let _ = self.stop.send(true);
        }
        std::future::ready(if n <= self.down_opens {
            Err(outage())
        } else {
            Ok(Shared(Arc::clone(&self.ledger)))
        })
    }

    fn describe(&self) -> &str {
        "fake"
    }
}

#[tokio::test(start_paused = true)]
async fn the_loop_survives_an_outage_and_reconnects() {
    let prices = FakePrices::standard();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let opener = FakeOpener {
        ledger: Arc::default(),
        opens: AtomicU32::new(0),
        down_opens: 2,
        stop_after: 3,
        stop,
    };
    let report = daemon::run(
        &prices,
        &opener,
        Cadence::Every(Duration::from_secs(60)),
        &Account::default(),
        shutdown,
    )
    .await;
    assert_eq!(
        report,
        DaemonReport {
            cycles_done: 1,
            cycles_skipped_api: 0,
            cycles_lost_db: 2,
        }
    );
    assert_eq!(opener.ledger.lock().unwrap().trades.len(), 1);
}

/// A price source whose calls never end (a server that never answers).
struct StuckPrices;

impl PriceSource for StuckPrices {
    fn top_markets(
        &self,
        _vs: &str,
        _n: u32,
    ) -> impl Future<Output = Result<Vec<CoinMarket>, pricing::Error>> + Send {
        std::future::pending()
    }

    fn market_chart_daily(
        &self,
        _id: &str,
        _vs: &str,
        _days: u32,
    ) -> impl Future<Output = Result<MarketChart, pricing::Error>> + Send {
        std::future::pending()
    }
}

/// Issue 10: a shutdown during a cycle that never ends stops the loop after the grace
/// period (before, the loop waited for the cycle forever).
#[tokio::test(start_paused = true)]
async fn a_shutdown_abandons_a_stuck_cycle_after_the_grace_period() {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let opener = FakeOpener {
        ledger: Arc::default(),
        opens: AtomicU32::new(0),
        down_opens: 0,
        stop_after: u32::MAX,
        stop,
    };
    let account = Account::default();
    let started = tokio::time::Instant::now();
    let run = daemon::run(&StuckPrices, &opener, Cadence::Hourly, &account, shutdown);
    let signal = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = opener.stop.send(true);
    };
    let (report, ()) = tokio::join!(run, signal);
    assert_eq!(report, DaemonReport::default());
    // Paused time: exactly the signal's moment plus the grace.
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30) + daemon::SHUTDOWN_GRACE
    );
}

/// A database whose operations and opens never answer (a frozen server, with database
/// timeouts longer than the shutdown grace).
struct MuteOpener;

struct MuteLedger;

impl Ledger for MuteLedger {
    fn record_markets(
        &mut self,
        _observed: &[MarketObservation],
        _now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send {
        std::future::pending()
    }

    fn record_trade<F>(
        &mut self,
        _trade: &NewTrade,
        _update: F,
    ) -> impl Future<Output = Result<TradeOutcome, DbError>> + Send
    where
        F: PositionUpdate,
    {
        std::future::pending()
    }

    fn positions(
        &mut self,
        _portfolio: &str,
    ) -> impl Future<Output = Result<Vec<PositionView>, DbError>> + Send {
        std::future::pending()
    }
}

impl OpenLedger for MuteOpener {
    type Ledger = MuteLedger;

    fn open(&self) -> impl Future<Output = Result<MuteLedger, DbError>> + Send {
        std::future::pending()
    }

    fn describe(&self) -> &str {
        "mute"
    }
}

/// Issue 20: opening the database is part of the cycle the shutdown waits for at most the
/// grace period (before, the open was outside it and waited for the database timeout).
#[tokio::test(start_paused = true)]
async fn a_shutdown_abandons_an_open_that_never_answers_after_the_grace_period() {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let started = tokio::time::Instant::now();
    let account = Account::default();
    let prices = FakePrices::standard();
    let run = daemon::run(&prices, MuteOpener, Cadence::Hourly, &account, shutdown);
    let signal = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = stop.send(true);
    };
    let (report, ()) = tokio::join!(run, signal);
    assert_eq!(report, DaemonReport::default());
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30) + daemon::SHUTDOWN_GRACE
    );
}
