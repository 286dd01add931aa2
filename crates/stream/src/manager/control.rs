//! Control requests on an open connection: the handle's `SUBSCRIBE`,
//! `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`, their replies, and bringing a
//! connection's stream set in line with the wanted one.

use super::connection::Conn;
use super::supervisor::Supervisor;
use super::{Ack, Command, StreamError};
use crate::event::{self, Message, Method};

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
        conn.outbox
            .push_back((event::request(method, params, id), id));
        conn.pending.insert(id, waiting);
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
            Message::ControlReply(reply) => match conn.pending.remove(&reply.id) {
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
                match conn.pending.remove(id) {
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
