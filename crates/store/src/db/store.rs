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

use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::connection::connect;
use super::error::DbError;
use super::models::{
    DbStatus, MarketObservation, NewTrade, PortfolioView, PositionRow, PositionView, ResetScope,
    RowCounts, Snapshot, TradeView,
};
use super::repo::{Session, TradeOutcome};
use super::url::{Backend, DbTimeouts, DbUrl};

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The trader's database: markets, portfolios, trades and positions.
///
/// ```no_run
/// # fn demo() -> Result<(), store::db::DbError> {
/// let mut store = store::db::Store::open("storage/trader.db")?; // migrations run here
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
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, opened) = mpsc::sync_channel(1);
        let (closing, closed) = mpsc::sync_channel(1);
        let thread_url = url.clone();
        std::thread::Builder::new()
            .name(format!("db-{}", url.backend().as_str()))
            .spawn(move || {
                let conn = match connect(&thread_url) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
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
        let t = url.timeouts();
        let deadline = t.connect + t.statement;
        match opened.recv_timeout(deadline) {
            Ok(Ok(())) => Ok(Store {
                url,
                jobs: Some(jobs),
                closed: Some(closed),
            }),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(timeout(&url, "connect", deadline)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(DbError::Connect {
                url: url.redacted().to_owned(),
                message: "the database thread ended unexpectedly".into(),
            }),
        }
    }

    /// Runs `f` on the connection's thread, waiting at most the statement timeout.
    fn call<R, F>(&mut self, what: &'static str, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Session) -> Result<R, DbError> + Send + 'static,
    {
        let Some(jobs) = &self.jobs else {
            return Err(DbError::Closed {
                url: self.url.redacted().to_owned(),
            });
        };
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |s| {
            let _ = reply.send(f(s));
        });
        let after = self.url.timeouts().statement;
        let res = match jobs.send(job) {
            Ok(()) => answer.recv_timeout(after),
            Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
        };
        match res {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Abandoned: never wait for this thread again.
                self.jobs = None;
                self.closed = None;
                Err(timeout(&self.url, what, after))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.jobs = None;
                self.closed = None;
                Err(DbError::Closed {
                    url: self.url.redacted().to_owned(),
                })
            }
        }
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
        F: FnOnce(Option<&PositionRow>) -> (f64, f64) + Send + 'static,
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

fn timeout(url: &DbUrl, what: &'static str, after: Duration) -> DbError {
    DbError::Timeout {
        url: url.redacted().to_owned(),
        what,
        after,
    }
}
