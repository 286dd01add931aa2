//! The manager task: connect, serve the connection and its renewals until
//! the feed is lost, report the gap when it is back, wait, repeat.
//!
//! [`Supervisor`] is the only part that delivers items and reads the handle's
//! commands. The parts below it work on their own state and answer with what is
//! to be done: a connection ([`Conn`]) says what a frame asks for, the renewal
//! ([`Renewal`]) where the handover stands, the control requests
//! ([`Subscriptions`]) what the handle asked for. The supervisor delivers the
//! items, in order, and waits when the consumer is slow.
//!
//! # Serving a connection
//!
//! One `select!` loop waits for whichever comes first: shutdown, a handle's
//! command, an event of the served connection, progress of its successor, or the
//! renewal timer. Each is handled to the end before the next wait, so the items
//! of a connection keep their order.

use std::mem;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::config::StreamConfig;
use super::connection::{Attempt, Conn, Dialer, Event, Read, Ws};
use super::control::{Command, Subscriptions};
use super::item::{DisconnectReason, StreamItem};
use super::renewal::{Handover, Lost, Progress, Renewal, ShutdownPacing, RENEWAL_OVERLAP};
use super::stats::Counters;
use events::Backoff;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// How often at most the "consumer is slow" warning is logged.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The manager asked to stop (shutdown, or nobody reads the items any more).
#[derive(Debug)]
struct Stop;

/// The manager task's state.
pub(super) struct Supervisor {
    config: StreamConfig,
    tx: mpsc::Sender<StreamItem>,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    shutdown: watch::Receiver<bool>,
    counters: Arc<Counters>,
    /// The streams wanted now, and the ids of the control requests.
    subscriptions: Subscriptions,
    /// Connection attempts: their ids and Binance's limit.
    dialer: Dialer,
    backoff: Backoff,
    shutdown_pacing: ShutdownPacing,
    full_warned_at: Option<Instant>,
    full_since_warning: u64,
}

/// What the serve loop woke up for.
enum Step {
    Stop,
    Command(Option<Command>),
    Primary(Event),
    Renewal(Progress),
    Timer,
}

impl Supervisor {
    pub(super) fn new(
        config: StreamConfig,
        tx: mpsc::Sender<StreamItem>,
        commands: mpsc::Receiver<Command>,
        shutdown: watch::Receiver<bool>,
        counters: Arc<Counters>,
    ) -> Self {
        Supervisor {
            backoff: Backoff::new(config.initial_backoff, config.max_backoff),
            dialer: Dialer::new(),
            shutdown_pacing: ShutdownPacing::new(&config),
            subscriptions: Subscriptions::new(&config.streams),
            config,
            tx,
            commands,
            commands_open: true,
            shutdown,
            counters,
            full_warned_at: None,
            full_since_warning: 0,
        }
    }

    pub(super) async fn run(mut self) {
        // Err: asked to stop; the connections have been closed on the way out.
        let _ = self.reconnect_loop().await;
        log::info!("stream: manager stopped");
    }

    /// Connects, serves the connection (and its renewals) until the feed is
    /// lost, reports the gap once a connection is back, and so on.
    async fn reconnect_loop(&mut self) -> Result<(), Stop> {
        // When and why the feed was lost, until a connection brings it back.
        let mut lost: Option<(SystemTime, DisconnectReason)> = None;
        // An attempt already under way (started as a renewal) to reuse.
        let mut in_flight: Option<Attempt> = None;
        let mut wait_until: Option<Instant> = None;
        loop {
            let mut attempt = match in_flight.take() {
                Some(attempt) => attempt,
                None => {
                    if let Some(deadline) = wait_until.take() {
                        self.pause_until(deadline).await?;
                    }
                    match self.begin_attempt() {
                        Ok(attempt) => attempt,
                        Err(allowed) => {
                            wait_until = Some(allowed);
                            continue;
                        }
                    }
                }
            };
            let result = tokio::select! {
                result = attempt.finished() => result,
                _ = stop_signal(&mut self.shutdown, &self.tx) => return Err(Stop),
            };
            let ws = match result {
                Ok(ws) => ws,
                Err(error) => {
                    self.connect_failed(attempt.conn_id, error).await?;
                    wait_until = Some(Instant::now() + self.backoff.next_delay());
                    continue;
                }
            };
            let (conn, at) = self.open(attempt, ws).await?;
            if let Some((from, reason)) = lost.take() {
                self.deliver(StreamItem::Gap {
                    from,
                    to: at,
                    reason,
                })
                .await?;
            }

            let end = self.serve(conn).await?;
            if end.got_data {
                self.backoff.reset();
            }
            // A successor already connecting becomes the next attempt; a failed
            // one, or serverShutdown (see `ShutdownPacing::renewal_at`), set the retry time.
            in_flight = end.in_flight;
            wait_until = match (&in_flight, end.retry_at) {
                (Some(_), _) => None,
                (None, Some(retry_at)) => Some(retry_at),
                (None, None) => Some(Instant::now() + self.backoff.next_delay()),
            };
            lost = Some((end.lost_at, end.reason));
        }
    }

    /// Reports a failed attempt.
    async fn connect_failed(&mut self, conn_id: u64, error: String) -> Result<(), Stop> {
        log::warn!("stream: connection #{conn_id} failed: {error}");
        self.deliver(StreamItem::Disconnected {
            conn_id,
            at: SystemTime::now(),
            reason: DisconnectReason::ConnectFailed(error),
        })
        .await
    }

    /// Waits until `deadline`, serving commands meanwhile.
    async fn pause_until(&mut self, deadline: Instant) -> Result<(), Stop> {
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Ok(()),
                _ = stop_signal(&mut self.shutdown, &self.tx) => return Err(Stop),
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.subscriptions.offline_command(command),
                    None => self.commands_open = false,
                },
            }
        }
    }

    /// Hands an item to the consumer, waiting when the channel is full.
    async fn deliver(&mut self, item: StreamItem) -> Result<(), Stop> {
        let item = match self.tx.try_send(item) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(_)) => return Err(Stop),
            Err(TrySendError::Full(item)) => item,
        };
        Counters::bump(&self.counters.consumer_full);
        self.full_since_warning += 1;
        let now = Instant::now();
        if self
            .full_warned_at
            .is_none_or(|at| now.duration_since(at) >= FULL_WARNING_EVERY)
        {
            log::warn!(
                "stream: consumer is slow; channel of {} items full {} time(s), reading paused",
                self.config.channel_capacity,
                self.full_since_warning
            );
            self.full_warned_at = Some(now);
            self.full_since_warning = 0;
        }
        tokio::select! {
            sent = self.tx.send(item) => sent.map_err(|_| Stop),
            _ = wait_shutdown(&mut self.shutdown) => Err(Stop),
        }
    }

    /// Starts the next connection attempt to the current stream set, or says
    /// when Binance's attempt limit allows one.
    fn begin_attempt(&mut self) -> Result<Attempt, Instant> {
        self.dialer
            .begin(&self.config, self.subscriptions.desired())
    }

    /// Takes a finished attempt into service: subscribes it to the current
    /// stream set and reports [`StreamItem::Connected`] (returning its time).
    async fn open(&mut self, attempt: Attempt, ws: Box<Ws>) -> Result<(Conn, SystemTime), Stop> {
        let mut conn = Conn::new(attempt.conn_id, ws, attempt.streams.clone(), &self.config);
        conn.sync_streams(&mut self.subscriptions);
        Counters::bump(&self.counters.connects);
        let at = SystemTime::now();
        self.deliver(StreamItem::Connected {
            conn_id: conn.id,
            at,
        })
        .await?;
        Ok((conn, at))
    }

    /// Serves `primary`, and its successors, until the feed is lost.
    async fn serve(&mut self, mut primary: Conn) -> Result<Lost, Stop> {
        let mut renewal = Renewal::Idle;
        loop {
            let timer = renewal.deadline(&primary);
            let step = tokio::select! {
                _ = stop_signal(&mut self.shutdown, &self.tx) => Step::Stop,
                command = self.commands.recv(), if self.commands_open => Step::Command(command),
                event = primary.next_event() => Step::Primary(event),
                progress = renewal.next() => Step::Renewal(progress),
                _ = sleep_until(timer) => Step::Timer,
            };
            let done = match step {
                Step::Stop => Err(Stop),
                Step::Command(None) => {
                    self.commands_open = false;
                    Ok(None)
                }
                Step::Command(Some(command)) => {
                    // The newest open connection is the one that stays.
                    renewal
                        .newest(&mut primary)
                        .command(&mut self.subscriptions, command);
                    Ok(None)
                }
                Step::Primary(event) => match self.on_event(&mut primary, event).await {
                    Ok(Some(reason)) => self.ended(&mut primary, &mut renewal, reason).await,
                    other => other.map(|_| None),
                },
                Step::Renewal(Progress::Handshake(result)) => self
                    .handshake_done(&mut renewal, result)
                    .await
                    .map(|_| None),
                Step::Renewal(Progress::Successor(event)) => self
                    .successor_event(&mut primary, &mut renewal, event)
                    .await
                    .map(|_| None),
                Step::Timer => self
                    .on_timer(&mut primary, &mut renewal)
                    .await
                    .map(|_| None),
            };
            match done {
                Ok(None) => {}
                Ok(Some(lost)) => return Ok(lost),
                Err(Stop) => {
                    self.shut(&mut primary).await;
                    if let Renewal::Overlap { mut next, .. } = renewal {
                        self.shut(&mut next).await;
                    }
                    return Err(Stop);
                }
            }
        }
    }

    /// Acts on one event of `conn`; `Some` when the connection has ended.
    async fn on_event(
        &mut self,
        conn: &mut Conn,
        event: Event,
    ) -> Result<Option<DisconnectReason>, Stop> {
        match event {
            Event::Idle => Ok(Some(conn.idle_timeout())),
            Event::SendDue => Ok(conn.send_queued(self.config.control_reply_timeout).await),
            Event::ControlDue => Ok(conn.control_due(&self.config)),
            Event::Frame(frame) => self.on_frame(conn, frame).await,
        }
    }

    /// Takes in one frame of `conn` and delivers what it carries; `Some` when the
    /// connection has ended.
    async fn on_frame(
        &mut self,
        conn: &mut Conn,
        frame: Option<Result<WsMessage, WsError>>,
    ) -> Result<Option<DisconnectReason>, Stop> {
        match conn
            .read(frame, &self.counters, &mut self.subscriptions)
            .await
        {
            Read::Ended(reason) => return Ok(Some(reason)),
            Read::Nothing => {}
            Read::Deliver(item) => self.deliver(item).await?,
            Read::Announced(item) => {
                conn.renew_at = conn.renew_at.min(self.shutdown_pacing.renewal_at());
                self.deliver(item).await?;
            }
        }
        conn.frame_handled();
        Ok(None)
    }

    /// The served connection ended: its open successor takes over, or the feed is lost.
    async fn ended(
        &mut self,
        primary: &mut Conn,
        renewal: &mut Renewal,
        reason: DisconnectReason,
    ) -> Result<Option<Lost>, Stop> {
        match renewal.primary_ended(primary, reason) {
            Handover::TakenOver { conn_id, at } => {
                let reason = DisconnectReason::Renewal;
                self.deliver(StreamItem::Disconnected {
                    conn_id,
                    at,
                    reason,
                })
                .await?;
                Ok(None)
            }
            Handover::Lost { conn_id, at, lost } => {
                self.deliver(StreamItem::Disconnected {
                    conn_id,
                    at,
                    reason: lost.reason.clone(),
                })
                .await?;
                Ok(Some(lost))
            }
        }
    }

    /// The successor's handshake finished.
    async fn handshake_done(
        &mut self,
        renewal: &mut Renewal,
        result: Result<Box<Ws>, String>,
    ) -> Result<(), Stop> {
        let Renewal::Connecting(attempt) = mem::replace(renewal, Renewal::Idle) else {
            return Ok(());
        };
        match result {
            Ok(ws) => {
                let (next, _) = self.open(attempt, ws).await?;
                *renewal = Renewal::overlap(next);
            }
            Err(error) => {
                self.connect_failed(attempt.conn_id, error).await?;
                *renewal = Renewal::RetryAt(Instant::now() + self.backoff.next_delay());
            }
        }
        Ok(())
    }

    /// Something happened on the open successor.
    async fn successor_event(
        &mut self,
        primary: &mut Conn,
        renewal: &mut Renewal,
        event: Event,
    ) -> Result<(), Stop> {
        let Renewal::Overlap { mut next, deadline } = mem::replace(renewal, Renewal::Idle) else {
            return Ok(());
        };
        match self.on_event(&mut next, event).await {
            Err(Stop) => {
                *renewal = Renewal::Overlap { next, deadline };
                Err(Stop)
            }
            Ok(Some(reason)) => {
                // Keep the old connection and try again later.
                let conn_id = next.id;
                let outcome = next.end(reason);
                log::warn!(
                    "stream: successor #{conn_id} ended before taking over: {}",
                    outcome.reason
                );
                *renewal = Renewal::RetryAt(Instant::now() + self.backoff.next_delay());
                // Requests went to the successor meanwhile.
                primary.sync_streams(&mut self.subscriptions);
                self.deliver(StreamItem::Disconnected {
                    conn_id,
                    at: SystemTime::now(),
                    reason: outcome.reason,
                })
                .await
            }
            Ok(None) if next.got_data => self.promote(primary, next).await,
            Ok(None) => {
                *renewal = Renewal::Overlap { next, deadline };
                Ok(())
            }
        }
    }

    /// The renewal timer fired: start the successor, or end an overlap that lasted
    /// [`RENEWAL_OVERLAP`].
    async fn on_timer(&mut self, primary: &mut Conn, renewal: &mut Renewal) -> Result<(), Stop> {
        match mem::replace(renewal, Renewal::Idle) {
            Renewal::Idle | Renewal::RetryAt(_) => {
                let why = match primary.shutdown_announced {
                    true => "server announced shutdown",
                    false => "age limit",
                };
                log::info!("stream: renewing connection #{} ({why})", primary.id);
                *renewal = Renewal::started(self.begin_attempt());
                Ok(())
            }
            Renewal::Overlap { next, .. } => {
                log::warn!(
                    "stream: successor #{} sent no data within {RENEWAL_OVERLAP:?}; it takes over anyway",
                    next.id
                );
                self.promote(primary, next).await
            }
            connecting @ Renewal::Connecting(_) => {
                *renewal = connecting;
                Ok(())
            }
        }
    }

    /// `next` replaces `primary`, which is closed cleanly (renewal).
    async fn promote(&mut self, primary: &mut Conn, next: Box<Conn>) -> Result<(), Stop> {
        let mut old = mem::replace(primary, *next);
        log::info!("stream: #{} takes over from #{}", primary.id, old.id);
        if primary.got_data {
            self.backoff.reset();
        }
        if let Err(Stop) = self.retire(&mut old).await {
            self.shut(&mut old).await;
            return Err(Stop);
        }
        let outcome = old.end(DisconnectReason::Renewal);
        self.deliver(StreamItem::Disconnected {
            conn_id: old.id,
            at: outcome.lost_at,
            reason: outcome.reason,
        })
        .await
    }

    /// Closes `conn` cleanly and still delivers what the server sent before
    /// it answered the close: nothing sent on it is lost.
    async fn retire(&mut self, conn: &mut Conn) -> Result<(), Stop> {
        let Some(deadline) = conn.send_close().await else {
            return Ok(());
        };
        while let Some(frame) = conn.frame_before(deadline).await {
            if self.on_frame(conn, frame).await?.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Closes `conn` without delivering anything more and reports it ended
    /// by [`DisconnectReason::Shutdown`] (best effort: never waits on a
    /// consumer that may itself be stopping).
    async fn shut(&mut self, conn: &mut Conn) {
        conn.close().await;
        let conn_id = conn.id;
        let outcome = conn.end(DisconnectReason::Shutdown);
        let _ = self.tx.try_send(StreamItem::Disconnected {
            conn_id,
            at: outcome.lost_at,
            reason: outcome.reason,
        });
    }
}

/// Resolves when shutdown was asked or the item receiver is gone.
async fn stop_signal(shutdown: &mut watch::Receiver<bool>, tx: &mpsc::Sender<StreamItem>) {
    tokio::select! {
        _ = wait_shutdown(shutdown) => {}
        _ = tx.closed() => {}
    }
}

/// Resolves when shutdown was asked; never if the handle was dropped without asking.
async fn wait_shutdown(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sleeps until `deadline`; never resolves for `None`.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
