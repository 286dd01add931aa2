//! Renewing a connection without a gap: the state of the handover to a successor.
//!
//! When the connection reaches `StreamConfig::max_connection_age`, or the
//! server announces `serverShutdown`, a successor is opened to the same
//! streams while the old connection keeps delivering. Once the successor has
//! delivered a data frame (or after [`RENEWAL_OVERLAP`]) the old one is closed
//! cleanly, and what it sent before the server answered the close is still
//! delivered. A successor that cannot connect is retried with backoff while
//! the old one lives; only when the old one dies first is the feed lost.
//!
//! This module holds the state and its transitions: [`Renewal`] (where the
//! handover stands), [`Handover`] (what the end of the served connection means)
//! and [`ShutdownPacing`] (how soon a `serverShutdown` asks for a renewal). The
//! supervisor drives them: it opens the connections and delivers the items.

use std::mem;
use std::time::{Duration, SystemTime};

use events::Backoff;
use tokio::time::Instant;

use super::config::StreamConfig;
use super::connection::{Attempt, Conn, Event, Ws};
use super::item::DisconnectReason;

/// Longest overlap: a successor that has delivered no data by then replaces
/// the old connection anyway (a quiet stream may have nothing to send).
pub(super) const RENEWAL_OVERLAP: Duration = Duration::from_secs(10);

/// `serverShutdown` announcements closer together than this are a repeat: the renewal
/// they ask for backs off instead of starting at once.
const SHUTDOWN_REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// Pacing of renewals asked for by `serverShutdown` (reset by a quiet minute, not by
/// data: a server that announces shutdown on every connection does send data).
pub(super) struct ShutdownPacing {
    backoff: Backoff,
    last: Option<Instant>,
}

impl ShutdownPacing {
    pub(super) fn new(config: &StreamConfig) -> Self {
        ShutdownPacing {
            backoff: Backoff::new(config.initial_backoff, config.max_backoff),
            last: None,
        }
    }

    /// When to renew a connection that has just announced `serverShutdown`: at once for
    /// the first announcement in [`SHUTDOWN_REPEAT_WINDOW`], after a growing backoff for
    /// repeats, so that a server announcing it on every connection gets no reconnect
    /// storm. (The attempt itself still goes through the attempt limiter.)
    pub(super) fn renewal_at(&mut self) -> Instant {
        let now = Instant::now();
        let repeated = self
            .last
            .is_some_and(|at| now.duration_since(at) < SHUTDOWN_REPEAT_WINDOW);
        self.last = Some(now);
        if repeated {
            now + self.backoff.next_delay()
        } else {
            self.backoff.reset();
            now
        }
    }
}

/// Where the renewal of the served connection stands.
pub(super) enum Renewal {
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

/// Something the successor needs handled.
pub(super) enum Progress {
    Handshake(Result<Box<Ws>, String>),
    Successor(Event),
}

/// What the end of the served connection means.
pub(super) enum Handover {
    /// The open successor has taken over (it is the served connection now);
    /// connection `conn_id` ended at `at`, which is a renewal, not a loss.
    TakenOver { conn_id: u64, at: SystemTime },
    /// No successor was open: connection `conn_id` ended at `at`, and the feed is lost.
    Lost {
        conn_id: u64,
        at: SystemTime,
        lost: Lost,
    },
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

impl Renewal {
    /// The successor's attempt has started, or Binance's attempt limit allows one then.
    pub(super) fn started(attempt: Result<Attempt, Instant>) -> Renewal {
        match attempt {
            Ok(attempt) => Renewal::Connecting(attempt),
            Err(allowed) => Renewal::RetryAt(allowed),
        }
    }

    /// The successor is open: it overlaps the served connection for at most
    /// [`RENEWAL_OVERLAP`].
    pub(super) fn overlap(next: Conn) -> Renewal {
        let deadline = Instant::now() + RENEWAL_OVERLAP;
        Renewal::Overlap {
            next: Box::new(next),
            deadline,
        }
    }

    /// When this state's timer fires.
    pub(super) fn deadline(&self, primary: &Conn) -> Option<Instant> {
        match self {
            // After `serverShutdown`, `renew_at` was moved to the supervisor's choice.
            Renewal::Idle => Some(primary.renew_at),
            Renewal::RetryAt(at) => Some(*at),
            Renewal::Connecting(_) => None,
            Renewal::Overlap { deadline, .. } => Some(*deadline),
        }
    }

    /// The next thing the successor needs handled; cancel-safe.
    pub(super) async fn next(&mut self) -> Progress {
        match self {
            Renewal::Connecting(attempt) => Progress::Handshake(attempt.finished().await),
            Renewal::Overlap { next, .. } => Progress::Successor(next.next_event().await),
            Renewal::Idle | Renewal::RetryAt(_) => std::future::pending().await,
        }
    }

    /// The newest open connection: the one that stays, so the one the handle's
    /// requests go to.
    pub(super) fn newest<'a>(&'a mut self, primary: &'a mut Conn) -> &'a mut Conn {
        match self {
            Renewal::Overlap { next, .. } => next,
            _ => primary,
        }
    }

    /// The served connection `primary` has ended for `reason`: its open successor
    /// takes its place, or the feed is lost (and a successor still connecting, or
    /// the time of the next attempt, goes to the reconnect). Leaves `self` idle.
    pub(super) fn primary_ended(
        &mut self,
        primary: &mut Conn,
        reason: DisconnectReason,
    ) -> Handover {
        let conn_id = primary.id;
        let announced = primary.shutdown_announced;
        let renew_at = primary.renew_at;
        let outcome = primary.end(reason);
        let at = SystemTime::now();
        match mem::replace(self, Renewal::Idle) {
            Renewal::Overlap { next, .. } => {
                log::info!(
                    "stream: connection #{conn_id} ended ({}); #{} is already open and takes over",
                    outcome.reason,
                    next.id
                );
                *primary = *next;
                Handover::TakenOver { conn_id, at }
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
                let (in_flight, retry_at) = match unfinished {
                    Renewal::Connecting(attempt) => (Some(attempt), None),
                    Renewal::RetryAt(at) => (None, Some(at)),
                    // Reconnect when the announcement's renewal was due (at once, or
                    // backed off when announcements repeat).
                    _ if announced => (None, Some(renew_at)),
                    _ => (None, None),
                };
                let lost = Lost {
                    reason,
                    lost_at: outcome.lost_at.min(at),
                    got_data: outcome.got_data,
                    in_flight,
                    retry_at,
                };
                Handover::Lost { conn_id, at, lost }
            }
        }
    }
}
