//! [`Store`]: the trader's database, where every operation has a deadline.
//!
//! Diesel's drivers block, and neither the MariaDB client (as Diesel builds it) nor a
//! frozen server gives up on its own: a server that accepts TCP and never replies would
//! hang the caller forever. So a `Store` owns one thread that owns the connection; each
//! operation is sent to it and waited for at most [`DbTimeouts::statement`] (opening:
//! [`DbTimeouts::connect`] plus one statement timeout for the migrations). When the
//! deadline passes the caller gets [`DbError::Timeout`] and the thread is abandoned (it
//! ends by itself if the server ever answers); the `Store` is then closed, and every
//! later call says so at once: open a new one.
//!
//! An abandoned transaction may still commit if the server wakes up: every write here is
//! idempotent per hourly slot, so that costs no double trade.
//!
//! The `*_async` operations ([`Store::open_url_async`], [`Store::record_trade_async`], ...)
//! wait for the same thread without blocking the caller's: dropping their future stops
//! the wait (how the trader's shutdown keeps its bound whatever the database does). That
//! abandons the operation like a timeout, logged with its name, and the store's drop does
//! not wait for the thread then. [`Store::open_existing`] opens without migrating.

use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use portfolio::{Position, PositionError};

use tokio::sync::oneshot;

use super::connection::{connect, connect_existing};
use super::error::DbError;
use super::models::{
    DbStatus, MarketObservation, NewTrade, PortfolioView, PositionView, ResetScope, RowCounts,
    Snapshot, TradeView,
};
use super::repo::{Session, TradeOutcome};
use super::url::{Backend, DbTimeouts, DbUrl};

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// A store's two ends of its thread: where jobs go, and the signal that it closed.
type Channels = (Option<mpsc::Sender<Job>>, Option<mpsc::Receiver<()>>);

/// How a trade changes the position it is recorded with: the held position in (empty when
/// none), the new one out, or the error that refuses it (the trade is then not written
/// either). Runs on the database's own thread, inside the trade's transaction, hence
/// `Send + 'static`.
///
/// ```
/// use portfolio::{submit_order, Order, Position, PositionError};
/// fn takes(_: impl ledger::PositionUpdate) {}
/// let fill = submit_order(&Order::buy("bitcoin", 1.0), 100.0, chrono::Utc::now()).unwrap();
/// takes(move |mut held: Position| -> Result<Position, PositionError> {
///     held.apply(&fill)?;
///     Ok(held)
/// });
/// ```
pub trait PositionUpdate:
    FnOnce(Position) -> Result<Position, PositionError> + Send + 'static
{
}

impl<F> PositionUpdate for F where
    F: FnOnce(Position) -> Result<Position, PositionError> + Send + 'static
{
}

/// The trader's database: markets, portfolios, trades and positions.
///
/// ```no_run
/// # fn demo() -> Result<(), ledger::DbError> {
/// let mut store = ledger::Store::open("storage/trader.db")?; // migrations run here
/// for p in store.positions("default")? {
///     println!("{} {} @ {}", p.symbol, p.quantity, p.avg_cost);
/// }
/// # Ok(()) }
/// ```
pub struct Store {
    url: DbUrl,
    /// `None` once an operation timed out (the thread was abandoned).
    jobs: Option<mpsc::Sender<Job>>,
    /// Signalled by the thread once it has closed the connection.
    closed: Option<mpsc::Receiver<()>>,
}

impl Drop for Store {
    /// Closes the connection and waits (at most one statement timeout) until it is
    /// closed: a process that exits while a client library is still tearing a
    /// connection down on another thread can crash in the library's exit handlers.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(closed) = self.closed.take() {
            let _ = closed.recv_timeout(self.url.timeouts().statement);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.url.redacted())
    }
}

impl Store {
    /// Opens `DATABASE_URL` (see [`DbUrl::parse`]) with the default timeouts and runs the
    /// migrations.
    ///
    /// # Errors
    ///
    /// [`DbError::BadUrl`] for an unusable `DATABASE_URL`, then as [`Store::open_url`].
    pub fn open(database_url: &str) -> Result<Store, DbError> {
        Self::open_url(DbUrl::parse(database_url)?)
    }

    /// Opens an already parsed URL (with its timeouts) and runs the migrations.
    ///
    /// # Errors
    ///
    /// [`DbError::CreateDir`] when the SQLite file's directory cannot be created;
    /// [`DbError::Connect`] when the database cannot be reached or opened;
    /// [`DbError::Migration`] when the migrations fail; [`DbError::Timeout`] when
    /// connecting takes longer than the connect timeout.
    pub fn open_url(url: DbUrl) -> Result<Store, DbError> {
        Self::open_blocking(url, Opening::Migrate)
    }

    /// Opens an already parsed URL without migrating it: what the commands that only read
    /// use, so that they never change a schema (see [`connect_existing`]).
    ///
    /// # Errors
    ///
    /// [`DbError::NotMigrated`] when the schema is missing or behind this build (nothing
    /// was written; `trader db migrate` is the fix), else as [`Store::open_url`].
    pub fn open_existing(url: DbUrl) -> Result<Store, DbError> {
        Self::open_blocking(url, Opening::Existing)
    }

    /// [`Store::open_url`] for async callers: the wait does not block the thread, and
    /// dropping the future stops waiting (the connection being made is abandoned, and
    /// closed by its thread when it is done).
    ///
    /// # Errors
    ///
    /// As [`Store::open_url`].
    pub async fn open_url_async(url: DbUrl) -> Result<Store, DbError> {
        let (ready, opened) = oneshot::channel();
        let (jobs, closed) = start(&url, Opening::Migrate, move |r| {
            let _ = ready.send(r);
        })?;
        let in_flight = InFlight::new("connect", &url, Some(jobs), Some(closed));
        let waited = waited_async(open_deadline(&url), opened).await;
        let (jobs, closed) = in_flight.finish();
        Self::opened(url, jobs, closed, waited)
    }

    fn open_blocking(url: DbUrl, how: Opening) -> Result<Store, DbError> {
        let (ready, opened) = mpsc::sync_channel(1);
        let (jobs, closed) = start(&url, how, move |r| {
            let _ = ready.send(r);
        })?;
        let waited = waited(opened.recv_timeout(open_deadline(&url)));
        Self::opened(url, Some(jobs), Some(closed), waited)
    }

    fn opened(
        url: DbUrl,
        jobs: Option<mpsc::Sender<Job>>,
        closed: Option<mpsc::Receiver<()>>,
        waited: Waited<Result<(), DbError>>,
    ) -> Result<Store, DbError> {
        match waited {
            Waited::Answer(Ok(())) => Ok(Store { url, jobs, closed }),
            Waited::Answer(Err(e)) => Err(e),
            Waited::TimedOut => {
                let deadline = open_deadline(&url);
                Err(timeout(&url, "connect", deadline))
            }
            Waited::Gone => Err(DbError::Connect {
                url: url.redacted().to_owned(),
                message: "the database thread ended unexpectedly".into(),
            }),
        }
    }

    /// Hands `f` to the connection's thread; `reply` gets its result there.
    fn submit<R, F>(
        &mut self,
        f: F,
        reply: impl FnOnce(Result<R, DbError>) + Send + 'static,
    ) -> Result<(), DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Session) -> Result<R, DbError> + Send + 'static,
    {
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(Box::new(move |s| reply(f(s)))).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        self.jobs = None;
        self.closed = None;
        Err(DbError::Closed {
            url: self.url.redacted().to_owned(),
        })
    }

    /// The result of a call, or why there is none (the store is closed then).
    fn settle<R>(
        &mut self,
        what: &'static str,
        waited: Waited<Result<R, DbError>>,
    ) -> Result<R, DbError> {
        let failure = match waited {
            Waited::Answer(r) => return r,
            // Abandoned: never wait for this thread again.
            Waited::TimedOut => timeout(&self.url, what, self.url.timeouts().statement),
            Waited::Gone => DbError::Closed {
                url: self.url.redacted().to_owned(),
            },
        };
        self.jobs = None;
        self.closed = None;
        Err(failure)
    }

    /// Runs `f` on the connection's thread, waiting at most the statement timeout.
    fn call<R, F>(&mut self, what: &'static str, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Session) -> Result<R, DbError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        let waited = waited(answer.recv_timeout(self.url.timeouts().statement));
        self.settle(what, waited)
    }

    /// [`Store::call`] without blocking the thread. Dropping the future before the
    /// answer abandons the operation and closes the store (as a timeout does), and the
    /// store's drop does not wait for the thread then.
    async fn call_async<R, F>(&mut self, what: &'static str, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Session) -> Result<R, DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        let in_flight = InFlight::new(what, &self.url, self.jobs.take(), self.closed.take());
        let waited = waited_async(self.url.timeouts().statement, answer).await;
        (self.jobs, self.closed) = in_flight.finish();
        self.settle(what, waited)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The URL, redacted (safe to log).
    pub fn redacted_url(&self) -> &str {
        self.url.redacted()
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> DbTimeouts {
        self.url.timeouts()
    }

    /// Stores one cycle's view of the markets in one transaction: coins are inserted or
    /// updated (symbol, name), and one snapshot per coin is added.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout. Nothing of the cycle is
    /// written then (one transaction).
    pub fn record_markets(
        &mut self,
        observed: &[MarketObservation],
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let observed = observed.to_vec();
        self.call("record the markets", move |s| {
            s.record_markets(&observed, at)
        })
    }

    /// Records a trade and updates the position of its coin in its portfolio, in one
    /// transaction (the portfolio is created on its first trade).
    ///
    /// `update` gets the current position (`None` if the coin was never held in that
    /// portfolio) and returns the new `(quantity, avg_cost)`. If the portfolio already has
    /// a trade of the coin in the hourly slot of `trade.executed_at` (UNIQUE (portfolio,
    /// coin_id, slot)), nothing is written and [`TradeOutcome::AlreadyTradedThisSlot`] is
    /// returned.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout. The trade and the
    /// position are written together or not at all.
    pub fn record_trade<F>(&mut self, trade: &NewTrade, update: F) -> Result<TradeOutcome, DbError>
    where
        F: PositionUpdate,
    {
        let trade = trade.clone();
        self.call("record a trade", move |s| s.record_trade(&trade, update))
    }

    /// The portfolio's positions with a non-zero quantity, by coin id, each with its coin
    /// and the price of the latest snapshot that had one.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn positions(&mut self, portfolio: &str) -> Result<Vec<PositionView>, DbError> {
        let portfolio = portfolio.to_owned();
        self.call("read the positions", move |s| s.positions(&portfolio))
    }

    /// [`Store::record_markets`] for async callers (see [`Store::record_trade_async`]).
    ///
    /// # Errors
    ///
    /// As [`Store::record_markets`].
    pub async fn record_markets_async(
        &mut self,
        observed: &[MarketObservation],
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let observed = observed.to_vec();
        self.call_async("record the markets", move |s| {
            s.record_markets(&observed, at)
        })
        .await
    }

    /// [`Store::record_trade`] for async callers: the wait does not block the thread, and
    /// dropping the future stops waiting (a shutdown that cannot wait any longer): the
    /// operation is abandoned on the connection's thread, logged, and the store is closed.
    ///
    /// # Errors
    ///
    /// As [`Store::record_trade`].
    pub async fn record_trade_async<F>(
        &mut self,
        trade: &NewTrade,
        update: F,
    ) -> Result<TradeOutcome, DbError>
    where
        F: PositionUpdate,
    {
        let trade = trade.clone();
        self.call_async("record a trade", move |s| s.record_trade(&trade, update))
            .await
    }

    /// [`Store::positions`] for async callers (see [`Store::record_trade_async`]).
    ///
    /// # Errors
    ///
    /// As [`Store::positions`].
    pub async fn positions_async(&mut self, portfolio: &str) -> Result<Vec<PositionView>, DbError> {
        let portfolio = portfolio.to_owned();
        self.call_async("read the positions", move |s| s.positions(&portfolio))
            .await
    }

    /// The portfolio's trades, oldest first.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn trades(&mut self, portfolio: &str) -> Result<Vec<TradeView>, DbError> {
        let portfolio = portfolio.to_owned();
        self.call("read the trades", move |s| s.trades(&portfolio))
    }

    /// The coin's snapshots (one per recorded cycle that saw it), oldest first.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn snapshots(&mut self, coin_id: &str) -> Result<Vec<Snapshot>, DbError> {
        let coin_id = coin_id.to_owned();
        self.call("read the snapshots", move |s| s.snapshots(&coin_id))
    }

    /// Every portfolio, by name, with its trade and open position counts.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn portfolios(&mut self) -> Result<Vec<PortfolioView>, DbError> {
        self.call("read the portfolios", Session::portfolios)
    }

    /// Row counts of every table.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn row_counts(&mut self) -> Result<RowCounts, DbError> {
        self.call("count the rows", Session::row_counts)
    }

    /// Backend, redacted URL, applied migrations and row counts.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout.
    pub fn status(&mut self) -> Result<DbStatus, DbError> {
        self.call("read the status", Session::status)
    }

    /// Empties what `scope` names, in one transaction; returns the rows deleted per table.
    ///
    /// # Errors
    ///
    /// [`DbError::Query`] when the statement fails; [`DbError::Timeout`] when the database
    /// does not answer within the statement timeout (the store is then closed);
    /// [`DbError::Closed`] on a store closed by an earlier timeout. Nothing is deleted then
    /// (one transaction).
    pub fn reset(&mut self, scope: &ResetScope) -> Result<RowCounts, DbError> {
        let scope = scope.clone();
        self.call("reset", move |s| s.reset(&scope))
    }
}

/// How a wait for the connection's thread ended.
enum Waited<R> {
    /// It answered.
    Answer(R),
    /// The deadline passed first.
    TimedOut,
    /// The thread ended without answering.
    Gone,
}

fn waited<R>(r: Result<R, mpsc::RecvTimeoutError>) -> Waited<R> {
    match r {
        Ok(r) => Waited::Answer(r),
        Err(mpsc::RecvTimeoutError::Timeout) => Waited::TimedOut,
        Err(mpsc::RecvTimeoutError::Disconnected) => Waited::Gone,
    }
}

async fn waited_async<R>(after: Duration, answer: oneshot::Receiver<R>) -> Waited<R> {
    match tokio::time::timeout(after, answer).await {
        Ok(Ok(r)) => Waited::Answer(r),
        Ok(Err(_)) => Waited::Gone,
        Err(_) => Waited::TimedOut,
    }
}

/// Whether opening runs the migrations.
#[derive(Debug, Clone, Copy)]
enum Opening {
    /// [`connect`]: the daemon and `--once`.
    Migrate,
    /// [`connect_existing`]: the commands that must not change the schema.
    Existing,
}

/// Connecting, then one statement timeout for the migrations (or the schema check).
fn open_deadline(url: &DbUrl) -> Duration {
    let t = url.timeouts();
    t.connect + t.statement
}

/// Starts the connection's thread: it connects (`how`), tells `ready`, then runs the jobs
/// sent to it until the sender is dropped, and says when it has closed the connection.
fn start(
    url: &DbUrl,
    how: Opening,
    ready: impl FnOnce(Result<(), DbError>) + Send + 'static,
) -> Result<(mpsc::Sender<Job>, mpsc::Receiver<()>), DbError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let (closing, closed) = mpsc::sync_channel(1);
    let thread_url = url.clone();
    std::thread::Builder::new()
        .name(format!("db-{}", url.backend().as_str()))
        .spawn(move || {
            let opened = match how {
                Opening::Migrate => connect(&thread_url),
                Opening::Existing => connect_existing(&thread_url),
            };
            let conn = match opened {
                Ok(c) => c,
                Err(e) => {
                    ready(Err(e));
                    return;
                }
            };
            ready(Ok(()));
            let mut session = Session {
                conn,
                url: thread_url,
            };
            // Ends when the Store is dropped (or abandoned the thread).
            for job in queue {
                job(&mut session);
            }
            drop(session);
            let _ = closing.send(());
        })
        .map_err(|e| DbError::Connect {
            url: url.redacted().to_owned(),
            message: format!("cannot start the database thread: {e}"),
        })?;
    Ok((jobs, closed))
}

/// The channels of a store while an async wait is under way. Dropped before
/// [`InFlight::finish`] (the future was dropped: a shutdown stopped waiting), it says what
/// was abandoned and drops the channels, so nothing ever waits for that thread again.
struct InFlight {
    what: &'static str,
    url: String,
    channels: Option<Channels>,
}

impl InFlight {
    fn new(
        what: &'static str,
        url: &DbUrl,
        jobs: Option<mpsc::Sender<Job>>,
        closed: Option<mpsc::Receiver<()>>,
    ) -> InFlight {
        InFlight {
            what,
            url: url.redacted().to_owned(),
            channels: Some((jobs, closed)),
        }
    }

    /// The wait ended: the channels go back to the store.
    fn finish(mut self) -> Channels {
        self.channels.take().unwrap_or((None, None))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.channels.take().is_some() {
            log::warn!(
                "stopped waiting for database {} ({}): abandoned, it ends on its own thread \
                 if the server ever answers",
                self.url,
                self.what
            );
        }
    }
}

fn timeout(url: &DbUrl, what: &'static str, after: Duration) -> DbError {
    DbError::Timeout {
        url: url.redacted().to_owned(),
        what,
        after,
    }
}
