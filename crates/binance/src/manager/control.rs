//! Control requests: what a handle asks of its task ([`Command`]: `SUBSCRIBE`,
//! `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`), why it can fail ([`StreamError`]), and how
//! the task serves them.
//!
//! Two pieces of state serve them:
//!
//! - [`Subscriptions`], one per manager: the streams wanted now, kept across
//!   connections, and the ids of the requests;
//! - [`Requests`], one per connection: the streams it carries, its requests
//!   waiting for their turn or their reply, and the 5-per-second pacing.
//!
//! Neither knows the connection's socket: the connection asks [`Requests`] what
//! to send and when, and hands it the replies it reads.
//!
//! # Retries
//!
//! A request that gets no reply within `StreamConfig::control_reply_timeout` is
//! sent again, with the same id (a late reply to an earlier attempt settles it
//! just as well), after `CONTROL_RETRY_DELAY` doubled per re-send, through the
//! connection's 5-per-second pacing. After `StreamConfig::control_attempts`
//! unanswered attempts the connection is taken for broken and replaced
//! ([`DisconnectReason::ControlUnanswered`]): the stream set is remembered, so the
//! next connection carries the streams (in its URL, or by `SUBSCRIBE`).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::backoff::RateLimiter;
use super::config::{control_retry_delay, StreamConfig, MAX_CONTROL_MESSAGES_PER_SECOND};
use super::item::DisconnectReason;
use crate::event::{self, Message, Method};

/// Why a control request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The manager task has ended (shut down, or its receiver dropped): nothing can be
    /// asked any more.
    #[error("the stream manager has stopped")]
    Closed,
    /// A stream name that cannot go into a URL or a control request (empty, longer than
    /// 200 bytes, blanks, control characters, or one of `/?#&%"\`); nothing was sent.
    #[error("invalid stream name {0:?}")]
    InvalidStreamName(String),
    /// Binance answered the request with an error.
    #[error("Binance refused the request (code {code}): {msg}")]
    Rejected {
        /// Binance's error code (`0` unknown property, `1` invalid value, `2` invalid
        /// request, `3` invalid JSON).
        code: i64,
        /// Binance's message, as sent.
        msg: String,
    },
    /// The manager did not settle the request within its patience (every attempt's
    /// reply timeout and the waits between them); a safety net that should not fire.
    #[error("no reply from Binance within {0:?}")]
    Timeout(Duration),
    /// [`StreamHandle::list_subscriptions`](super::StreamHandle::list_subscriptions) needs an open connection, and there was
    /// none (or it ended before Binance answered).
    #[error("not connected")]
    NotConnected,
}

pub(super) type Ack<T> = oneshot::Sender<Result<T, StreamError>>;

/// Requests from a [`StreamHandle`](super::StreamHandle) to its manager task.
pub(super) enum Command {
    Subscribe(Vec<String>, Ack<()>),
    Unsubscribe(Vec<String>, Ack<()>),
    List(Ack<Vec<String>>),
}

/// The streams a manager wants, and the ids of its requests: one per manager,
/// kept across connections.
pub(super) struct Subscriptions {
    /// Streams wanted now: config streams plus subscribes minus unsubscribes.
    desired: Vec<String>,
    next_request_id: u64,
}

impl Subscriptions {
    /// Wants `streams` (a name listed twice counts once).
    pub(super) fn new(streams: &[String]) -> Self {
        let mut desired = Vec::with_capacity(streams.len());
        for name in streams {
            if !desired.contains(name) {
                desired.push(name.clone());
            }
        }
        Subscriptions {
            desired,
            next_request_id: 1,
        }
    }

    /// The streams wanted now, in the order they were first wanted.
    pub(super) fn desired(&self) -> &[String] {
        &self.desired
    }

    /// Applies a command while no connection is open: the stream set is
    /// remembered for the next connection.
    pub(super) fn offline_command(&mut self, command: Command) {
        match command {
            Command::Subscribe(names, ack) => {
                self.add(&names);
                let _ = ack.send(Ok(()));
            }
            Command::Unsubscribe(names, ack) => {
                self.remove(&names);
                let _ = ack.send(Ok(()));
            }
            Command::List(ack) => {
                let _ = ack.send(Err(StreamError::NotConnected));
            }
        }
    }

    /// Adds the names not yet wanted; returns those.
    fn add(&mut self, names: &[String]) -> Vec<String> {
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
    fn remove(&mut self, names: &[String]) -> Vec<String> {
        let removed: Vec<String> = names
            .iter()
            .filter(|n| self.desired.contains(n))
            .cloned()
            .collect();
        self.desired.retain(|n| !names.contains(n));
        removed
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }
}

/// One connection's control requests: the streams it carries, the requests
/// waiting for their turn or their reply, and Binance's 5-per-second pacing.
pub(super) struct Requests {
    /// Streams the connection carries: its URL's plus the `SUBSCRIBE`s sent on it.
    streams: Vec<String>,
    /// Requests waiting for the rate limiter, with their ids.
    outbox: VecDeque<(String, u64)>,
    pending: HashMap<u64, Waiting>,
    limiter: RateLimiter,
}

/// A request sent (or about to be) on a connection, until its reply.
struct Waiting {
    pending: Pending,
    /// The request's text, to send it again.
    text: String,
    /// What it asks, for the logs: `SUBSCRIBE btcusdt@miniTicker, ethbtc@miniTicker`.
    what: String,
    /// Attempts sent so far.
    attempts: u32,
    due: Due,
}

/// What a waiting request waits for.
#[derive(Debug, Clone, Copy)]
enum Due {
    /// Its turn in the outbox (the 5-per-second pacing).
    Queued,
    /// Its reply, until then.
    Reply(Instant),
    /// The time to send it again.
    Resend(Instant),
}

impl Waiting {
    /// When this request needs attention, if it is not just queued.
    fn deadline(&self) -> Option<Instant> {
        match self.due {
            Due::Queued => None,
            Due::Reply(at) | Due::Resend(at) => Some(at),
        }
    }
}

/// A control request waiting for its reply.
enum Pending {
    /// Sent by the manager itself (stream set sync after connect).
    Internal,
    Subscribe(Vec<String>, Ack<()>),
    Unsubscribe(Ack<()>),
    List(Ack<Vec<String>>),
}

impl Pending {
    /// The connection ended first. The stream set is remembered, so
    /// (un)subscribes count as done; a list cannot be.
    fn settle_on_disconnect(self) {
        match self {
            Pending::Subscribe(_, ack) | Pending::Unsubscribe(ack) => {
                let _ = ack.send(Ok(()));
            }
            Pending::List(ack) => {
                let _ = ack.send(Err(StreamError::NotConnected));
            }
            Pending::Internal => {}
        }
    }
}

impl Requests {
    /// Nothing asked yet on a connection that carries `streams` (those named in its URL).
    pub(super) fn new(streams: Vec<String>) -> Self {
        Requests {
            streams,
            outbox: VecDeque::new(),
            pending: HashMap::new(),
            limiter: RateLimiter::new(MAX_CONTROL_MESSAGES_PER_SECOND, Duration::from_secs(1)),
        }
    }

    /// When the next queued request may go out (the pacing); `None` while none is queued.
    pub(super) fn send_at(&mut self, now: Instant) -> Option<Instant> {
        let allowed = self.limiter.next_allowed(now);
        (!self.outbox.is_empty()).then_some(allowed)
    }

    /// The earliest time a sent request needs attention: its reply is overdue, or its
    /// re-send is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.pending.values().filter_map(Waiting::deadline).min()
    }

    /// Takes the next queued request to write now, counting it against the pacing;
    /// returns its text and id. Call [`Requests::sent`] once it is written.
    pub(super) fn pop_queued(&mut self) -> Option<(String, u64)> {
        let next = self.outbox.pop_front()?;
        self.limiter.record(Instant::now());
        Some(next)
    }

    /// Request `id` has just been written: its reply is due within `reply_timeout`.
    pub(super) fn sent(&mut self, id: u64, reply_timeout: Duration) {
        if let Some(waiting) = self.pending.get_mut(&id) {
            waiting.attempts += 1;
            waiting.due = Due::Reply(Instant::now() + reply_timeout);
        }
    }

    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE` requests so that the connection carries
    /// exactly the wanted streams (after connect: the ones its URL did not name).
    pub(super) fn sync(&mut self, subscriptions: &mut Subscriptions) {
        let missing: Vec<String> = subscriptions
            .desired
            .iter()
            .filter(|n| !self.streams.contains(n))
            .cloned()
            .collect();
        let unwanted: Vec<String> = self
            .streams
            .iter()
            .filter(|n| !subscriptions.desired.contains(n))
            .cloned()
            .collect();
        for (method, names) in [
            (Method::Subscribe, missing),
            (Method::Unsubscribe, unwanted),
        ] {
            if !names.is_empty() {
                self.queue(subscriptions, method, &names, Pending::Internal);
            }
        }
        self.streams.clone_from(&subscriptions.desired);
    }

    fn queue(
        &mut self,
        subscriptions: &mut Subscriptions,
        method: Method,
        params: &[String],
        waiting: Pending,
    ) {
        let id = subscriptions.next_id();
        let text = event::request(method, params, id);
        self.outbox.push_back((text.clone(), id));
        let what = match params {
            [] => method.as_str().to_owned(),
            _ => format!("{} {}", method.as_str(), params.join(", ")),
        };
        self.pending.insert(
            id,
            Waiting {
                pending: waiting,
                text,
                what,
                attempts: 0,
                due: Due::Queued,
            },
        );
    }

    /// Handles the requests whose deadline has passed: an unanswered one is scheduled
    /// to be sent again, or, after its last attempt, ends connection `conn_id` (`Some`);
    /// one whose wait is over goes back into the outbox.
    pub(super) fn due(&mut self, conn_id: u64, config: &StreamConfig) -> Option<DisconnectReason> {
        let now = Instant::now();
        let max = config.control_attempts.max(1);
        let timeout = config.control_reply_timeout;
        let mut due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, w)| w.deadline().is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        due.sort_unstable();
        for id in due {
            let Some(waiting) = self.pending.get_mut(&id) else {
                continue;
            };
            match waiting.due {
                Due::Queued => {}
                Due::Reply(_) if waiting.attempts >= max => {
                    log::error!(
                        "stream: #{} no reply to {} after {} attempts; replacing the connection",
                        conn_id,
                        waiting.what,
                        waiting.attempts
                    );
                    return Some(DisconnectReason::ControlUnanswered {
                        request: waiting.what.clone(),
                        attempts: waiting.attempts,
                    });
                }
                Due::Reply(_) => {
                    let delay = control_retry_delay(waiting.attempts);
                    log::warn!(
                        "stream: #{} no reply to {} within {timeout:?} (attempt {} of {max}); \
                         sending it again in {delay:?}",
                        conn_id,
                        waiting.what,
                        waiting.attempts
                    );
                    waiting.due = Due::Resend(now + delay);
                }
                Due::Resend(_) => {
                    waiting.due = Due::Queued;
                    self.outbox.push_back((waiting.text.clone(), id));
                }
            }
        }
        None
    }

    /// Queues a handle's request on this (open) connection.
    pub(super) fn command(&mut self, subscriptions: &mut Subscriptions, command: Command) {
        match command {
            Command::Subscribe(names, ack) => {
                let added = subscriptions.add(&names);
                if added.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                self.streams.extend(added.iter().cloned());
                let waiting = Pending::Subscribe(added.clone(), ack);
                self.queue(subscriptions, Method::Subscribe, &added, waiting);
            }
            Command::Unsubscribe(names, ack) => {
                let removed = subscriptions.remove(&names);
                if removed.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                self.streams.retain(|n| !removed.contains(n));
                self.queue(
                    subscriptions,
                    Method::Unsubscribe,
                    &removed,
                    Pending::Unsubscribe(ack),
                );
            }
            Command::List(ack) => {
                self.queue(
                    subscriptions,
                    Method::ListSubscriptions,
                    &[],
                    Pending::List(ack),
                );
            }
        }
    }

    /// Answers the handle call waiting for this reply, if any.
    pub(super) fn settle_reply(&mut self, subscriptions: &mut Subscriptions, message: &Message) {
        match message {
            Message::ControlReply(reply) => match self.pending.remove(&reply.id).map(|w| w.pending)
            {
                Some(Pending::Subscribe(_, ack) | Pending::Unsubscribe(ack)) => {
                    let _ = ack.send(Ok(()));
                }
                Some(Pending::List(ack)) => {
                    let _ = ack.send(Ok(reply.result.clone().unwrap_or_default()));
                }
                Some(Pending::Internal) | None => {}
            },
            Message::ControlError {
                id: Some(id),
                code,
                msg,
            } => {
                let refused = StreamError::Rejected {
                    code: *code,
                    msg: msg.clone(),
                };
                log::warn!("stream: control request {id} refused: {refused}");
                match self.pending.remove(id).map(|w| w.pending) {
                    Some(Pending::Subscribe(names, ack)) => {
                        // Do not re-send a refused subscription on every reconnect.
                        subscriptions.remove(&names);
                        self.streams.retain(|n| !names.contains(n));
                        let _ = ack.send(Err(refused));
                    }
                    Some(Pending::Unsubscribe(ack)) => {
                        let _ = ack.send(Err(refused));
                    }
                    Some(Pending::List(ack)) => {
                        let _ = ack.send(Err(refused));
                    }
                    Some(Pending::Internal) | None => {}
                }
            }
            _ => {}
        }
    }

    /// The connection has ended: settles every request still waiting (see
    /// [`Pending::settle_on_disconnect`]).
    pub(super) fn settle_on_disconnect(&mut self) {
        for (_, waiting) in self.pending.drain() {
            waiting.pending.settle_on_disconnect();
        }
    }
}
