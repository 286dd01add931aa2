//! The reconnect loop: connect, serve the connection and its renewals until
//! the feed is lost, report the gap when it is back, wait, repeat.

use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::backoff::RateLimiter;
use super::connection::Attempt;
use super::{
    Command, Counters, DisconnectReason, StreamConfig, StreamError, StreamItem,
    MAX_CONNECT_ATTEMPTS,
};
use events::Backoff;

/// How often at most the "consumer is slow" warning is logged.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// `serverShutdown` announcements closer together than this are a repeat: the renewal
/// they ask for backs off instead of starting at once.
const SHUTDOWN_REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// The manager asked to stop (shutdown, or nobody reads the items any more).
#[derive(Debug)]
pub(super) struct Stop;

pub(super) struct Supervisor {
    pub(super) config: StreamConfig,
    pub(super) tx: mpsc::Sender<StreamItem>,
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) commands_open: bool,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) counters: Arc<Counters>,
    /// Streams wanted now: config streams plus subscribes minus unsubscribes.
    pub(super) desired: Vec<String>,
    pub(super) next_request_id: u64,
    /// Id of the latest connection attempt (ids count attempts from 1).
    pub(super) last_conn_id: u64,
    pub(super) backoff: Backoff,
    pub(super) attempt_limiter: RateLimiter,
    /// Pacing of renewals asked for by `serverShutdown` (reset by a quiet minute, not by
    /// data: a server that announces shutdown on every connection does send data).
    shutdown_backoff: Backoff,
    last_shutdown: Option<Instant>,
    full_warned_at: Option<Instant>,
    full_since_warning: u64,
}

impl Supervisor {
    pub(super) fn new(
        config: StreamConfig,
        tx: mpsc::Sender<StreamItem>,
        commands: mpsc::Receiver<Command>,
        shutdown: watch::Receiver<bool>,
        counters: Arc<Counters>,
    ) -> Self {
        let mut desired = Vec::with_capacity(config.streams.len());
        for name in &config.streams {
            if !desired.contains(name) {
                desired.push(name.clone());
            }
        }
        Supervisor {
            backoff: Backoff::new(config.initial_backoff, config.max_backoff),
            attempt_limiter: RateLimiter::new(MAX_CONNECT_ATTEMPTS, Duration::from_secs(300)),
            shutdown_backoff: Backoff::new(config.initial_backoff, config.max_backoff),
            last_shutdown: None,
            config,
            tx,
            commands,
            commands_open: true,
            shutdown,
            counters,
            desired,
            next_request_id: 1,
            last_conn_id: 0,
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
            // one, or serverShutdown (see `shutdown_renewal_at`), set the retry time.
            in_flight = end.in_flight;
            wait_until = match (&in_flight, end.retry_at) {
                (Some(_), _) => None,
                (None, Some(retry_at)) => Some(retry_at),
                (None, None) => Some(Instant::now() + self.backoff.next_delay()),
            };
            lost = Some((end.lost_at, end.reason));
        }
    }

    /// When to renew a connection that has just announced `serverShutdown`: at once for
    /// the first announcement in [`SHUTDOWN_REPEAT_WINDOW`], after a growing backoff for
    /// repeats, so that a server announcing it on every connection gets no reconnect
    /// storm. (The attempt itself still goes through the attempt limiter.)
    pub(super) fn shutdown_renewal_at(&mut self) -> Instant {
        let now = Instant::now();
        let repeated = self
            .last_shutdown
            .is_some_and(|at| now.duration_since(at) < SHUTDOWN_REPEAT_WINDOW);
        self.last_shutdown = Some(now);
        if repeated {
            now + self.shutdown_backoff.next_delay()
        } else {
            self.shutdown_backoff.reset();
            now
        }
    }

    /// Reports a failed attempt.
    pub(super) async fn connect_failed(&mut self, conn_id: u64, error: String) -> Result<(), Stop> {
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
                    Some(command) => self.offline_command(command),
                    None => self.commands_open = false,
                },
            }
        }
    }

    /// Applies a command while no connection is open: the stream set is
    /// remembered for the next connection.
    pub(super) fn offline_command(&mut self, command: Command) {
        match command {
            Command::Subscribe(names, ack) => {
                self.add_desired(&names);
                let _ = ack.send(Ok(()));
            }
            Command::Unsubscribe(names, ack) => {
                self.remove_desired(&names);
                let _ = ack.send(Ok(()));
            }
            Command::List(ack) => {
                let _ = ack.send(Err(StreamError::NotConnected));
            }
        }
    }

    /// Adds the names not yet wanted; returns those.
    pub(super) fn add_desired(&mut self, names: &[String]) -> Vec<String> {
        let mut added = Vec::new();
        for name in names {
            if !self.desired.contains(name) && !added.contains(name) {
                added.push(name.clone());
            }
        }
        self.desired.extend(added.iter().cloned());
        added
    }

    /// Removes the names that were wanted; returns those.
    pub(super) fn remove_desired(&mut self, names: &[String]) -> Vec<String> {
        let removed: Vec<String> = names
            .iter()
            .filter(|n| self.desired.contains(n))
            .cloned()
            .collect();
        self.desired.retain(|n| !names.contains(n));
        removed
    }

    /// Hands an item to the consumer, waiting when the channel is full.
    pub(super) async fn deliver(&mut self, item: StreamItem) -> Result<(), Stop> {
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

    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }
}

/// Resolves when shutdown was asked or the item receiver is gone.
pub(super) async fn stop_signal(
    shutdown: &mut watch::Receiver<bool>,
    tx: &mpsc::Sender<StreamItem>,
) {
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
