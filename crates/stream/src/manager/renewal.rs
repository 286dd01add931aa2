//! Serving an open connection, and renewing it without a gap.
//!
//! When the connection reaches `StreamConfig::max_connection_age`, or the
//! server announces `serverShutdown`, a successor is opened to the same
//! streams while the old connection keeps delivering. Once the successor has
//! delivered a data frame (or after [`RENEWAL_OVERLAP`]) the old one is closed
//! cleanly, and what it sent before the server answered the close is still
//! delivered. A successor that cannot connect is retried with backoff while
//! the old one lives; only when the old one dies first is the feed lost.

use std::mem;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

use super::connection::{Attempt, Conn, Event, Ws};
use super::supervisor::{stop_signal, Stop, Supervisor};
use super::{Command, DisconnectReason, StreamItem};

/// Longest overlap: a successor that has delivered no data by then replaces
/// the old connection anyway (a quiet stream may have nothing to send).
pub(super) const RENEWAL_OVERLAP: Duration = Duration::from_secs(10);

/// Where the renewal of the served connection stands.
enum Renewal {
    /// Nothing under way; starts at the connection's renewal time or on `serverShutdown`.
    Idle,
    /// The last attempt failed; the next one is due then.
    RetryAt(Instant),
    /// The successor's handshake is in flight.
    Connecting(Attempt),
    /// The successor is open and takes the handle's requests; it replaces the
    /// old connection at its first data frame or at `deadline`.
    Overlap { next: Box<Conn>, deadline: Instant },
}

enum Progress {
    Handshake(Result<Box<Ws>, String>),
    Successor(Event),
}

impl Renewal {
    /// When this state's timer fires.
    fn deadline(&self, primary: &Conn) -> Option<Instant> {
        match self {
            // After `serverShutdown`, `renew_at` was moved to the supervisor's choice.
            Renewal::Idle => Some(primary.renew_at),
            Renewal::RetryAt(at) => Some(*at),
            Renewal::Connecting(_) => None,
            Renewal::Overlap { deadline, .. } => Some(*deadline),
        }
    }

    /// The next thing the successor needs handled; cancel-safe.
    async fn next(&mut self) -> Progress {
        match self {
            Renewal::Connecting(attempt) => Progress::Handshake(attempt.finished().await),
            Renewal::Overlap { next, .. } => Progress::Successor(next.next_event().await),
            Renewal::Idle | Renewal::RetryAt(_) => std::future::pending().await,
        }
    }
}

/// The feed is lost: the served connection ended with no successor open.
pub(super) struct Lost {
    pub(super) reason: DisconnectReason,
    /// When the feed was really lost (for an idle timeout: the last frame).
    pub(super) lost_at: SystemTime,
    /// Whether the connection that ended delivered data.
    pub(super) got_data: bool,
    /// A successor's handshake still in flight: it becomes the reconnect attempt.
    pub(super) in_flight: Option<Attempt>,
    /// A successor's attempt failed: the next attempt is due then.
    pub(super) retry_at: Option<Instant>,
}

enum Step {
    Stop,
    Command(Option<Command>),
    Primary(Event),
    Renewal(Progress),
    Timer,
}

impl Supervisor {
    /// Serves `primary`, and its successors, until the feed is lost.
    pub(super) async fn serve(&mut self, mut primary: Conn) -> Result<Lost, Stop> {
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
                    let target = match &mut renewal {
                        Renewal::Overlap { next, .. } => next,
                        _ => &mut primary,
                    };
                    self.online_command(target, command);
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

    /// The served connection ended: its open successor takes over, or the feed is lost.
    async fn ended(
        &mut self,
        primary: &mut Conn,
        renewal: &mut Renewal,
        reason: DisconnectReason,
    ) -> Result<Option<Lost>, Stop> {
        let conn_id = primary.id;
        let announced = primary.shutdown_announced;
        let renew_at = primary.renew_at;
        let outcome = primary.end(reason);
        let at = SystemTime::now();
        match mem::replace(renewal, Renewal::Idle) {
            Renewal::Overlap { next, .. } => {
                log::info!(
                    "stream: connection #{conn_id} ended ({}); #{} is already open and takes over",
                    outcome.reason,
                    next.id
                );
                *primary = *next;
                let reason = DisconnectReason::Renewal;
                self.deliver(StreamItem::Disconnected {
                    conn_id,
                    at,
                    reason,
                })
                .await?;
                Ok(None)
            }
            unfinished => {
                let reason = match outcome.reason {
                    DisconnectReason::Shutdown => DisconnectReason::Shutdown,
                    real if announced => {
                        log::info!(
                            "stream: connection #{conn_id} ended after serverShutdown: {real}"
                        );
                        DisconnectReason::ServerShutdown
                    }
                    real => real,
                };
                log::warn!("stream: connection #{conn_id} ended: {reason}");
                self.deliver(StreamItem::Disconnected {
                    conn_id,
                    at,
                    reason: reason.clone(),
                })
                .await?;
                let (in_flight, retry_at) = match unfinished {
                    Renewal::Connecting(attempt) => (Some(attempt), None),
                    Renewal::RetryAt(at) => (None, Some(at)),
                    // Reconnect when the announcement's renewal was due (at once, or
                    // backed off when announcements repeat).
                    _ if announced => (None, Some(renew_at)),
                    _ => (None, None),
                };
                Ok(Some(Lost {
                    reason,
                    lost_at: outcome.lost_at.min(at),
                    got_data: outcome.got_data,
                    in_flight,
                    retry_at,
                }))
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
                let deadline = Instant::now() + RENEWAL_OVERLAP;
                *renewal = Renewal::Overlap {
                    next: Box::new(next),
                    deadline,
                };
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
                self.sync_streams(primary);
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

    async fn on_timer(&mut self, primary: &mut Conn, renewal: &mut Renewal) -> Result<(), Stop> {
        match mem::replace(renewal, Renewal::Idle) {
            Renewal::Idle | Renewal::RetryAt(_) => {
                let why = match primary.shutdown_announced {
                    true => "server announced shutdown",
                    false => "age limit",
                };
                log::info!("stream: renewing connection #{} ({why})", primary.id);
                *renewal = match self.begin_attempt() {
                    Ok(attempt) => Renewal::Connecting(attempt),
                    Err(allowed) => Renewal::RetryAt(allowed),
                };
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
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
