//! The reconnect loop: connect, run a connection, report, wait, repeat.

use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::backoff::{Backoff, RateLimiter};
use super::{
    Command, Counters, DisconnectReason, StreamConfig, StreamError, StreamItem,
    MAX_CONNECT_ATTEMPTS, MAX_CONTROL_MESSAGES_PER_SECOND,
};

/// How often at most the "consumer is slow" warning is logged.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

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
    pub(super) control_limiter: RateLimiter,
    backoff: Backoff,
    attempt_limiter: RateLimiter,
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
            control_limiter: RateLimiter::new(
                MAX_CONTROL_MESSAGES_PER_SECOND,
                Duration::from_secs(1),
            ),
            config,
            tx,
            commands,
            commands_open: true,
            shutdown,
            counters,
            desired,
            next_request_id: 1,
            full_warned_at: None,
            full_since_warning: 0,
        }
    }

    pub(super) async fn run(mut self) {
        let mut conn_id = 0u64;
        // When and why the feed was lost, until a connection brings it back.
        let mut lost: Option<(SystemTime, DisconnectReason)> = None;
        let mut delay: Option<Duration> = None;
        loop {
            if let Some(delay) = delay.take() {
                if self.pause_until(Instant::now() + delay).await.is_err() {
                    break;
                }
            }
            let now = Instant::now();
            let allowed = self.attempt_limiter.next_allowed(now);
            if allowed > now {
                log::warn!(
                    "stream: {MAX_CONNECT_ATTEMPTS} connection attempts in 5 minutes, waiting {:?}",
                    allowed - now
                );
                if self.pause_until(allowed).await.is_err() {
                    break;
                }
            }
            self.attempt_limiter.record(Instant::now());
            conn_id += 1;

            let ws = match self.connect(conn_id).await {
                Err(Stop) => break,
                Ok(Err(error)) => {
                    log::warn!("stream: connection #{conn_id} failed: {error}");
                    let item = StreamItem::Disconnected {
                        conn_id,
                        at: SystemTime::now(),
                        reason: DisconnectReason::ConnectFailed(error),
                    };
                    if self.deliver(item).await.is_err() {
                        break;
                    }
                    delay = Some(self.backoff.next_delay());
                    continue;
                }
                Ok(Ok(ws)) => ws,
            };

            Counters::bump(&self.counters.connects);
            let at = SystemTime::now();
            if self
                .deliver(StreamItem::Connected { conn_id, at })
                .await
                .is_err()
            {
                break;
            }
            if let Some((from, reason)) = lost.take() {
                let gap = StreamItem::Gap {
                    from,
                    to: at,
                    reason,
                };
                if self.deliver(gap).await.is_err() {
                    break;
                }
            }

            let outcome = self.run_connection(conn_id, ws).await;
            let reason = outcome.reason;
            let at = SystemTime::now();
            log::warn!("stream: connection #{conn_id} ended: {reason}");
            if reason == DisconnectReason::Shutdown {
                // Best effort: never wait on a consumer that may itself be stopping.
                let _ = self.tx.try_send(StreamItem::Disconnected {
                    conn_id,
                    at,
                    reason,
                });
                break;
            }
            let item = StreamItem::Disconnected {
                conn_id,
                at,
                reason: reason.clone(),
            };
            if self.deliver(item).await.is_err() {
                break;
            }
            if outcome.got_data {
                self.backoff.reset();
            }
            delay = match reason {
                DisconnectReason::ServerShutdown | DisconnectReason::Renewal => None,
                _ => Some(self.backoff.next_delay()),
            };
            lost = Some((outcome.lost_at.min(at), reason));
        }
        log::info!("stream: manager stopped");
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
