//! Control requests on an open connection: the handle's `SUBSCRIBE`,
//! `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`, their replies, and bringing a
//! connection's stream set in line with the wanted one.
//!
//! A request that gets no reply within `StreamConfig::control_reply_timeout` is
//! sent again, with the same id (a late reply to an earlier attempt settles it
//! just as well), after `CONTROL_RETRY_DELAY` doubled per re-send, through the
//! connection's 5-per-second pacing. After `StreamConfig::control_attempts`
//! unanswered attempts the connection is taken for broken and replaced
//! ([`DisconnectReason::ControlUnanswered`]): the stream set is remembered, so the
//! next connection carries the streams (in its URL, or by `SUBSCRIBE`).

use tokio::time::Instant;

use super::config::control_retry_delay;
use super::connection::Conn;
use super::supervisor::Supervisor;
use super::{Ack, Command, DisconnectReason, StreamError};
use crate::event::{self, Message, Method};

/// A request sent (or about to be) on a connection, until its reply.
pub(super) struct Waiting {
    pub(super) pending: Pending,
    /// The request's text, to send it again.
    text: String,
    /// What it asks, for the logs: `SUBSCRIBE btcusdt@miniTicker, ethbtc@miniTicker`.
    what: String,
    /// Attempts sent so far.
    attempts: u32,
    pub(super) due: Due,
}

/// What a waiting request waits for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Due {
    /// Its turn in the outbox (the 5-per-second pacing).
    Queued,
    /// Its reply, until then.
    Reply(Instant),
    /// The time to send it again.
    Resend(Instant),
}

impl Waiting {
    /// When this request needs attention, if it is not just queued.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.due {
            Due::Queued => None,
            Due::Reply(at) | Due::Resend(at) => Some(at),
        }
    }
}

/// A control request waiting for its reply.
pub(super) enum Pending {
    /// Sent by the manager itself (stream set sync after connect).
    Internal,
    Subscribe(Vec<String>, Ack<()>),
    Unsubscribe(Ack<()>),
    List(Ack<Vec<String>>),
}

impl Pending {
    /// The connection ended first. The stream set is remembered, so
    /// (un)subscribes count as done; a list cannot be.
    pub(super) fn settle_on_disconnect(self) {
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

impl Supervisor {
    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE` requests so that `conn` carries
    /// exactly the wanted streams (after connect: the ones its URL did not name).
    pub(super) fn sync_streams(&mut self, conn: &mut Conn) {
        let missing: Vec<String> = self
            .desired
            .iter()
            .filter(|n| !conn.streams.contains(n))
            .cloned()
            .collect();
        let unwanted: Vec<String> = conn
            .streams
            .iter()
            .filter(|n| !self.desired.contains(n))
            .cloned()
            .collect();
        for (method, names) in [
            (Method::Subscribe, missing),
            (Method::Unsubscribe, unwanted),
        ] {
            if !names.is_empty() {
                self.queue(conn, method, &names, Pending::Internal);
            }
        }
        conn.streams.clone_from(&self.desired);
    }

    fn queue(&mut self, conn: &mut Conn, method: Method, params: &[String], waiting: Pending) {
        let id = self.next_id();
        let text = event::request(method, params, id);
        conn.outbox.push_back((text.clone(), id));
        let what = match params {
            [] => method.as_str().to_owned(),
            _ => format!("{} {}", method.as_str(), params.join(", ")),
        };
        conn.pending.insert(
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

    /// Request `id` has just been written: its reply is due within the reply timeout.
    pub(super) fn control_sent(&self, conn: &mut Conn, id: u64) {
        if let Some(waiting) = conn.pending.get_mut(&id) {
            waiting.attempts += 1;
            waiting.due = Due::Reply(Instant::now() + self.config.control_reply_timeout);
        }
    }

    /// Handles the requests whose deadline has passed: an unanswered one is scheduled
    /// to be sent again, or, after its last attempt, ends the connection (`Some`); one
    /// whose wait is over goes back into the outbox.
    pub(super) fn control_due(&mut self, conn: &mut Conn) -> Option<DisconnectReason> {
        let now = Instant::now();
        let max = self.config.control_attempts.max(1);
        let timeout = self.config.control_reply_timeout;
        let mut due: Vec<u64> = conn
            .pending
            .iter()
            .filter(|(_, w)| w.deadline().is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        due.sort_unstable();
        for id in due {
            let Some(waiting) = conn.pending.get_mut(&id) else {
                continue;
            };
            match waiting.due {
                Due::Queued => {}
                Due::Reply(_) if waiting.attempts >= max => {
                    log::error!(
                        "stream: #{} no reply to {} after {} attempts; replacing the connection",
                        conn.id,
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
                        conn.id,
                        waiting.what,
                        waiting.attempts
                    );
                    waiting.due = Due::Resend(now + delay);
                }
                Due::Resend(_) => {
                    waiting.due = Due::Queued;
                    conn.outbox.push_back((waiting.text.clone(), id));
                }
            }
        }
        None
    }

    /// Queues a handle's request on the open connection `conn`.
    pub(super) fn online_command(&mut self, conn: &mut Conn, command: Command) {
        match command {
            Command::Subscribe(names, ack) => {
                let added = self.add_desired(&names);
                if added.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                conn.streams.extend(added.iter().cloned());
                let waiting = Pending::Subscribe(added.clone(), ack);
                self.queue(conn, Method::Subscribe, &added, waiting);
            }
            Command::Unsubscribe(names, ack) => {
                let removed = self.remove_desired(&names);
                if removed.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                conn.streams.retain(|n| !removed.contains(n));
                self.queue(
                    conn,
                    Method::Unsubscribe,
                    &removed,
                    Pending::Unsubscribe(ack),
                );
            }
            Command::List(ack) => {
                self.queue(conn, Method::ListSubscriptions, &[], Pending::List(ack));
            }
        }
    }

    /// Answers the handle call waiting for this reply, if any.
    pub(super) fn settle_reply(&mut self, conn: &mut Conn, message: &Message) {
        match message {
            Message::ControlReply(reply) => match conn.pending.remove(&reply.id).map(|w| w.pending)
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
                match conn.pending.remove(id).map(|w| w.pending) {
                    Some(Pending::Subscribe(names, ack)) => {
                        // Do not re-send a refused subscription on every reconnect.
                        self.remove_desired(&names);
                        conn.streams.retain(|n| !names.contains(n));
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
}
