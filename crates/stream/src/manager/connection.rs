//! One connection: open it, read it, answer pings, send control requests at
//! Binance's pace, and tell why it ended.

use futures::{SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::supervisor::{stop_signal, Stop, Supervisor};
use super::{Ack, Command, Counters, DisconnectReason, StreamError, StreamItem};
use crate::event::{self, decode, DecodeError, Message, Method};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for the TCP + TLS + WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a write (pong, control request, close) to go out.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection ended.
pub(super) struct Outcome {
    pub(super) reason: DisconnectReason,
    /// When the feed was really lost (for an idle timeout: the last frame).
    pub(super) lost_at: SystemTime,
    /// Whether any data frame arrived (the backoff resets only then).
    pub(super) got_data: bool,
}

/// A control request waiting for its reply.
enum Pending {
    /// Sent by the manager itself (re-subscribe after connect).
    Internal,
    Subscribe(Vec<String>, Ack<()>),
    Unsubscribe(Ack<()>),
    List(Ack<Vec<String>>),
}

/// `/stream?streams=a/b` or `/ws/a` (the rest of a raw set goes by `SUBSCRIBE`).
pub(super) fn stream_url(base: &str, streams: &[String], combined: bool) -> String {
    let base = base.trim_end_matches('/');
    match (combined, streams.first()) {
        (true, Some(_)) => format!("{base}/stream?streams={}", streams.join("/")),
        (true, None) => format!("{base}/stream"),
        (false, Some(first)) => format!("{base}/ws/{first}"),
        (false, None) => format!("{base}/ws"),
    }
}

/// `scheme://host:port/path` without user info, query or fragment, for logs.
pub(super) fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

impl Supervisor {
    /// Opens connection `conn_id`; `Ok(Err(_))` is a failed attempt.
    pub(super) async fn connect(&mut self, conn_id: u64) -> Result<Result<Ws, String>, Stop> {
        let url = stream_url(&self.config.base_url, &self.desired, self.config.combined);
        let shown = redact(&url);
        log::info!(
            "stream: connecting #{conn_id} to {shown} ({} streams)",
            self.desired.len()
        );
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_tungstenite::connect_async_tls_with_config(url, None, true, None),
        );
        tokio::select! {
            result = attempt => Ok(match result {
                Ok(Ok((ws, _response))) => {
                    log::info!("stream: connected #{conn_id} to {shown}");
                    Ok(ws)
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no handshake within {CONNECT_TIMEOUT:?}")),
            }),
            _ = stop_signal(&mut self.shutdown, &self.tx) => Err(Stop),
        }
    }

    /// Reads connection `conn_id` until it ends; never panics on what the network sends.
    pub(super) async fn run_connection(&mut self, conn_id: u64, mut ws: Ws) -> Outcome {
        let idle = self.config.idle_timeout;
        let renew_at = Instant::now() + self.config.max_connection_age;
        let mut idle_deadline = Instant::now() + idle;
        let mut last_frame_at = SystemTime::now();
        let mut got_data = false;
        let mut outbox: VecDeque<(String, u64)> = VecDeque::new();
        let mut pending: HashMap<u64, Pending> = HashMap::new();

        if !self.config.combined && self.desired.len() > 1 {
            let rest = self.desired[1..].to_vec();
            let id = self.next_id();
            outbox.push_back((event::request(Method::Subscribe, &rest, id), id));
            pending.insert(id, Pending::Internal);
        }

        let reason = loop {
            let send_at = self.control_limiter.next_allowed(Instant::now());
            tokio::select! {
                _ = stop_signal(&mut self.shutdown, &self.tx) => {
                    close(&mut ws).await;
                    break DisconnectReason::Shutdown;
                }
                _ = tokio::time::sleep_until(idle_deadline) => {
                    break DisconnectReason::IdleTimeout(idle);
                }
                _ = tokio::time::sleep_until(renew_at) => {
                    close(&mut ws).await;
                    break DisconnectReason::Renewal;
                }
                _ = tokio::time::sleep_until(send_at), if !outbox.is_empty() => {
                    if let Some((text, id)) = outbox.pop_front() {
                        self.control_limiter.record(Instant::now());
                        log::debug!("stream: #{conn_id} sending control request {id}");
                        if let Err(reason) = write(&mut ws, WsMessage::text(text)).await {
                            break reason;
                        }
                    }
                }
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.online_command(command, &mut outbox, &mut pending),
                    None => self.commands_open = false,
                },
                frame = ws.next() => {
                    last_frame_at = SystemTime::now();
                    let frame = match frame {
                        None => break DisconnectReason::Closed {
                            code: None,
                            reason: "connection ended without a close frame".into(),
                        },
                        Some(Err(e)) => break DisconnectReason::Error(e.to_string()),
                        Some(Ok(frame)) => frame,
                    };
                    let step = match frame {
                        WsMessage::Text(raw) => {
                            got_data = true;
                            self.on_text(conn_id, raw, &mut pending).await
                        }
                        WsMessage::Binary(bytes) => {
                            got_data = true;
                            Counters::bump(&self.counters.frames);
                            Counters::bump(&self.counters.malformed);
                            let error = DecodeError::NotText { len: bytes.len() };
                            self.deliver(StreamItem::Malformed { conn_id, error }).await.map(|_| None)
                        }
                        // tungstenite queued the pong; push it out now rather than
                        // on the next read, which a slow consumer could delay.
                        WsMessage::Ping(_) => match write_flush(&mut ws).await {
                            Ok(()) => Ok(None),
                            Err(reason) => Ok(Some(reason)),
                        },
                        WsMessage::Pong(_) | WsMessage::Frame(_) => Ok(None),
                        WsMessage::Close(frame) => {
                            // Sends tungstenite's queued close reply.
                            let _ = write_flush(&mut ws).await;
                            let (code, reason) = match frame {
                                Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                                None => (None, String::new()),
                            };
                            Ok(Some(DisconnectReason::Closed { code, reason }))
                        }
                    };
                    match step {
                        Err(Stop) => {
                            close(&mut ws).await;
                            break DisconnectReason::Shutdown;
                        }
                        Ok(Some(reason)) => {
                            if reason == DisconnectReason::ServerShutdown {
                                close(&mut ws).await;
                            }
                            break reason;
                        }
                        Ok(None) => {}
                    }
                    // Time spent waiting on the consumer is not silence on the wire.
                    idle_deadline = Instant::now() + idle;
                }
            }
        };

        for (_, waiting) in pending.drain() {
            settle_on_disconnect(waiting);
        }
        let lost_at = match reason {
            DisconnectReason::IdleTimeout(_) => last_frame_at,
            _ => SystemTime::now(),
        };
        Outcome {
            reason,
            lost_at,
            got_data,
        }
    }

    /// Decodes and delivers a text frame; `Some` ends the connection.
    async fn on_text(
        &mut self,
        conn_id: u64,
        raw: tokio_tungstenite::tungstenite::Utf8Bytes,
        pending: &mut HashMap<u64, Pending>,
    ) -> Result<Option<DisconnectReason>, Stop> {
        Counters::bump(&self.counters.frames);
        let received_at = SystemTime::now();
        let message = match decode(raw.as_str()) {
            Ok(message) => message,
            Err(error) => {
                Counters::bump(&self.counters.malformed);
                log::debug!("stream: #{conn_id} malformed frame: {error}");
                self.deliver(StreamItem::Malformed { conn_id, error })
                    .await?;
                return Ok(None);
            }
        };
        self.settle_reply(&message, pending);
        let shutdown = matches!(message, Message::ServerShutdown { .. });
        let item = StreamItem::Message {
            conn_id,
            received_at,
            raw,
            message,
        };
        self.deliver(item).await?;
        Ok(shutdown.then_some(DisconnectReason::ServerShutdown))
    }

    /// Queues a handle's request on the open connection.
    fn online_command(
        &mut self,
        command: Command,
        outbox: &mut VecDeque<(String, u64)>,
        pending: &mut HashMap<u64, Pending>,
    ) {
        let id = self.next_id();
        let (method, params, waiting) = match command {
            Command::Subscribe(names, ack) => {
                let added = self.add_desired(&names);
                if added.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                (
                    Method::Subscribe,
                    added.clone(),
                    Pending::Subscribe(added, ack),
                )
            }
            Command::Unsubscribe(names, ack) => {
                let removed = self.remove_desired(&names);
                if removed.is_empty() {
                    let _ = ack.send(Ok(()));
                    return;
                }
                (Method::Unsubscribe, removed, Pending::Unsubscribe(ack))
            }
            Command::List(ack) => (Method::ListSubscriptions, Vec::new(), Pending::List(ack)),
        };
        outbox.push_back((event::request(method, &params, id), id));
        pending.insert(id, waiting);
    }

    /// Answers the handle call waiting for this reply, if any.
    fn settle_reply(&mut self, message: &Message, pending: &mut HashMap<u64, Pending>) {
        match message {
            Message::ControlReply(reply) => match pending.remove(&reply.id) {
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
                match pending.remove(id) {
                    Some(Pending::Subscribe(names, ack)) => {
                        // Do not re-send a refused subscription on every reconnect.
                        self.remove_desired(&names);
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

/// The stream set is remembered, so (un)subscribes count as done; a list cannot be.
fn settle_on_disconnect(waiting: Pending) {
    match waiting {
        Pending::Subscribe(_, ack) | Pending::Unsubscribe(ack) => {
            let _ = ack.send(Ok(()));
        }
        Pending::List(ack) => {
            let _ = ack.send(Err(StreamError::NotConnected));
        }
        Pending::Internal => {}
    }
}

async fn write(ws: &mut Ws, message: WsMessage) -> Result<(), DisconnectReason> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DisconnectReason::Error(e.to_string())),
        Err(_) => Err(DisconnectReason::Error(format!(
            "write blocked for {WRITE_TIMEOUT:?}"
        ))),
    }
}

async fn write_flush(ws: &mut Ws) -> Result<(), DisconnectReason> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DisconnectReason::Error(e.to_string())),
        Err(_) => Err(DisconnectReason::Error(format!(
            "write blocked for {WRITE_TIMEOUT:?}"
        ))),
    }
}

/// Sends a normal close and waits briefly for the server's answer.
async fn close(ws: &mut Ws) {
    let goodbye = async {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_raw_and_combined_endpoints() {
        let two = vec![
            "btcusdt@miniTicker".to_owned(),
            "ethusdt@miniTicker".to_owned(),
        ];
        assert_eq!(
            stream_url("wss://h:9443/", &two, true),
            "wss://h:9443/stream?streams=btcusdt@miniTicker/ethusdt@miniTicker"
        );
        assert_eq!(
            stream_url("wss://h:9443", &two, false),
            "wss://h:9443/ws/btcusdt@miniTicker"
        );
        assert_eq!(stream_url("ws://h", &[], false), "ws://h/ws");
        assert_eq!(stream_url("ws://h", &[], true), "ws://h/stream");
    }

    #[test]
    fn redaction_drops_user_info_query_and_fragment() {
        assert_eq!(
            redact("wss://user:secret@h:9443/stream?streams=a/b&key=k#x"),
            "wss://h:9443/stream"
        );
        assert_eq!(redact("ws://127.0.0.1:1/ws/a@b"), "ws://127.0.0.1:1/ws/a@b");
        assert_eq!(redact("no-scheme?x"), "://no-scheme");
    }
}
