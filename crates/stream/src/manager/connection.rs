//! One connection: the handshake, reading it, answering pings, sending control
//! requests at Binance's pace, closing it, and telling why it ended.

use futures::{SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::backoff::RateLimiter;
use super::control::Waiting;
use super::supervisor::{Stop, Supervisor};
use super::url::{redact, stream_url};
use super::{Counters, DisconnectReason, StreamConfig, StreamItem};
use super::{MAX_CONNECT_ATTEMPTS, MAX_CONTROL_MESSAGES_PER_SECOND};
use crate::event::{decode_elements, DecodeError, Decoded, Message};

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for the TCP + TLS + WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a write (pong, control request, close) to go out.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the server's answer to our close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection attempt: the handshake runs in its own task, so that an open
/// connection keeps being read meanwhile. Dropping it aborts the attempt.
pub(super) struct Attempt {
    pub(super) conn_id: u64,
    /// The streams named in the URL (the rest go by `SUBSCRIBE` once open).
    pub(super) streams: Vec<String>,
    task: JoinHandle<Result<Box<Ws>, String>>,
}

impl Attempt {
    /// The handshake's result; await it at most once to completion.
    pub(super) async fn finished(&mut self) -> Result<Box<Ws>, String> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(format!("connection task failed: {e}")),
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a connection ended.
pub(super) struct Outcome {
    pub(super) reason: DisconnectReason,
    /// When the feed was really lost (for an idle timeout: the last frame).
    pub(super) lost_at: SystemTime,
    /// Whether any data frame arrived (the backoff resets only then).
    pub(super) got_data: bool,
}

/// An open connection and its bookkeeping.
pub(super) struct Conn {
    pub(super) id: u64,
    ws: Box<Ws>,
    /// Streams this connection carries: its URL's plus the `SUBSCRIBE`s sent on it.
    pub(super) streams: Vec<String>,
    /// When to open its successor (`StreamConfig::max_connection_age`).
    pub(super) renew_at: Instant,
    /// A data frame (not a control reply) arrived.
    pub(super) got_data: bool,
    /// The server sent `serverShutdown` on it.
    pub(super) shutdown_announced: bool,
    idle: Duration,
    idle_deadline: Instant,
    last_frame_at: SystemTime,
    /// Control requests waiting for the rate limiter, with their ids.
    pub(super) outbox: VecDeque<(String, u64)>,
    pub(super) pending: HashMap<u64, Waiting>,
    limiter: RateLimiter,
}

/// Something a connection needs handled.
pub(super) enum Event {
    Idle,
    SendDue,
    /// A control request's reply is overdue, or its re-send is due.
    ControlDue,
    Frame(Option<Result<WsMessage, WsError>>),
}

impl Conn {
    fn new(id: u64, ws: Box<Ws>, streams: Vec<String>, config: &StreamConfig) -> Conn {
        let now = Instant::now();
        Conn {
            id,
            ws,
            streams,
            // A huge age (e.g. `Duration::MAX`) means "never renew".
            renew_at: now
                .checked_add(config.max_connection_age)
                .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400)),
            got_data: false,
            shutdown_announced: false,
            idle: config.idle_timeout,
            idle_deadline: now + config.idle_timeout,
            last_frame_at: SystemTime::now(),
            outbox: VecDeque::new(),
            pending: HashMap::new(),
            limiter: RateLimiter::new(MAX_CONTROL_MESSAGES_PER_SECOND, Duration::from_secs(1)),
        }
    }

    /// Waits for the next thing to do; cancel-safe (nothing happens until handled).
    pub(super) async fn next_event(&mut self) -> Event {
        let send_at = self.limiter.next_allowed(Instant::now());
        let control_at = self.pending.values().filter_map(Waiting::deadline).min();
        tokio::select! {
            _ = tokio::time::sleep_until(self.idle_deadline) => Event::Idle,
            _ = tokio::time::sleep_until(send_at), if !self.outbox.is_empty() => Event::SendDue,
            _ = sleep_until_some(control_at), if control_at.is_some() => Event::ControlDue,
            frame = self.ws.next() => Event::Frame(frame),
        }
    }

    /// Settles what is still waiting and says how the connection ended.
    pub(super) fn end(&mut self, reason: DisconnectReason) -> Outcome {
        for (_, waiting) in self.pending.drain() {
            waiting.pending.settle_on_disconnect();
        }
        let lost_at = match reason {
            DisconnectReason::IdleTimeout(_) => self.last_frame_at,
            _ => SystemTime::now(),
        };
        Outcome {
            reason,
            lost_at,
            got_data: self.got_data,
        }
    }
}

async fn handshake(conn_id: u64, url: String) -> Result<Box<Ws>, String> {
    let shown = redact(&url);
    let attempt = tokio_tungstenite::connect_async_tls_with_config(url, None, true, None);
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok((ws, _response))) => {
            log::info!("stream: connected #{conn_id} to {shown}");
            Ok(Box::new(ws))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no handshake within {CONNECT_TIMEOUT:?}")),
    }
}

impl Supervisor {
    /// Starts the next connection attempt to the current stream set, or says
    /// when Binance's attempt limit allows one.
    pub(super) fn begin_attempt(&mut self) -> Result<Attempt, Instant> {
        let now = Instant::now();
        let allowed = self.attempt_limiter.next_allowed(now);
        if allowed > now {
            log::warn!(
                "stream: {MAX_CONNECT_ATTEMPTS} connection attempts in 5 minutes, waiting {:?}",
                allowed - now
            );
            return Err(allowed);
        }
        self.attempt_limiter.record(now);
        self.last_conn_id += 1;
        let conn_id = self.last_conn_id;
        let combined = self.config.combined;
        let url = stream_url(&self.config.base_url, &self.desired, combined);
        log::info!(
            "stream: connecting #{conn_id} to {} ({} streams)",
            redact(&url),
            self.desired.len()
        );
        let streams = match combined {
            true => self.desired.clone(),
            false => self.desired.iter().take(1).cloned().collect(),
        };
        Ok(Attempt {
            conn_id,
            streams,
            task: tokio::spawn(handshake(conn_id, url)),
        })
    }

    /// Takes a finished attempt into service: subscribes it to the current
    /// stream set and reports [`StreamItem::Connected`] (returning its time).
    pub(super) async fn open(
        &mut self,
        attempt: Attempt,
        ws: Box<Ws>,
    ) -> Result<(Conn, SystemTime), Stop> {
        let mut conn = Conn::new(attempt.conn_id, ws, attempt.streams.clone(), &self.config);
        self.sync_streams(&mut conn);
        Counters::bump(&self.counters.connects);
        let at = SystemTime::now();
        self.deliver(StreamItem::Connected {
            conn_id: conn.id,
            at,
        })
        .await?;
        Ok((conn, at))
    }

    /// Acts on one event of `conn`; `Some` when the connection has ended.
    pub(super) async fn on_event(
        &mut self,
        conn: &mut Conn,
        event: Event,
    ) -> Result<Option<DisconnectReason>, Stop> {
        match event {
            Event::Idle => Ok(Some(DisconnectReason::IdleTimeout(conn.idle))),
            Event::SendDue => {
                let Some((text, id)) = conn.outbox.pop_front() else {
                    return Ok(None);
                };
                conn.limiter.record(Instant::now());
                log::debug!("stream: #{} sending control request {id}", conn.id);
                let sent = write(&mut conn.ws, WsMessage::text(text)).await;
                self.control_sent(conn, id);
                Ok(sent.err())
            }
            Event::ControlDue => Ok(self.control_due(conn)),
            Event::Frame(frame) => self.on_frame(conn, frame).await,
        }
    }

    async fn on_frame(
        &mut self,
        conn: &mut Conn,
        frame: Option<Result<WsMessage, WsError>>,
    ) -> Result<Option<DisconnectReason>, Stop> {
        conn.last_frame_at = SystemTime::now();
        let frame = match frame {
            None => {
                return Ok(Some(DisconnectReason::Closed {
                    code: None,
                    reason: "connection ended without a close frame".into(),
                }))
            }
            Some(Err(e)) => return Ok(Some(DisconnectReason::Error(e.to_string()))),
            Some(Ok(frame)) => frame,
        };
        let conn_id = conn.id;
        match frame {
            WsMessage::Text(raw) => self.on_text(conn, raw).await?,
            WsMessage::Binary(bytes) => {
                conn.got_data = true;
                Counters::bump(&self.counters.frames);
                Counters::bump(&self.counters.malformed);
                let error = DecodeError::NotText { len: bytes.len() };
                self.deliver(StreamItem::Malformed { conn_id, error })
                    .await?;
            }
            // tungstenite queued the pong; push it out now rather than on the
            // next read, which a slow consumer could delay.
            WsMessage::Ping(_) => {
                if let Err(reason) = write_flush(&mut conn.ws).await {
                    return Ok(Some(reason));
                }
            }
            WsMessage::Pong(_) | WsMessage::Frame(_) => {}
            WsMessage::Close(frame) => {
                // Sends tungstenite's queued close reply.
                let _ = write_flush(&mut conn.ws).await;
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                return Ok(Some(DisconnectReason::Closed { code, reason }));
            }
        }
        // Time spent waiting on the consumer is not silence on the wire.
        conn.idle_deadline = Instant::now() + conn.idle;
        Ok(None)
    }

    /// Decodes and delivers a text frame.
    async fn on_text(&mut self, conn: &mut Conn, raw: Utf8Bytes) -> Result<(), Stop> {
        Counters::bump(&self.counters.frames);
        let conn_id = conn.id;
        let received_at = SystemTime::now();
        let Decoded { message, rejected } = match decode_elements(raw.as_str()) {
            Ok(decoded) => decoded,
            Err(error) => {
                conn.got_data = true;
                Counters::bump(&self.counters.malformed);
                log::debug!("stream: #{conn_id} malformed frame: {error}");
                return self.deliver(StreamItem::Malformed { conn_id, error }).await;
            }
        };
        match &message {
            Message::ControlReply(_) | Message::ControlError { .. } => {
                self.settle_reply(conn, &message)
            }
            Message::ServerShutdown { .. } => {
                log::warn!("stream: #{conn_id} announced serverShutdown");
                if !conn.shutdown_announced {
                    conn.shutdown_announced = true;
                    conn.renew_at = conn.renew_at.min(self.shutdown_renewal_at());
                }
            }
            Message::MiniTickers(_) | Message::Other { .. } => conn.got_data = true,
        }
        if !rejected.is_empty() {
            self.counters
                .rejected_elements
                .fetch_add(rejected.len() as u64, std::sync::atomic::Ordering::Relaxed);
            log::debug!(
                "stream: #{conn_id} {} bad element(s) skipped",
                rejected.len()
            );
        }
        let item = StreamItem::Message {
            conn_id,
            received_at,
            raw,
            message,
            rejected,
        };
        self.deliver(item).await
    }

    /// Closes `conn` cleanly and still delivers what the server sent before
    /// it answered the close: nothing sent on it is lost.
    pub(super) async fn retire(&mut self, conn: &mut Conn) -> Result<(), Stop> {
        if write(&mut conn.ws, WsMessage::Close(Some(normal_close())))
            .await
            .is_err()
        {
            return Ok(());
        }
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while let Ok(frame) = tokio::time::timeout_at(deadline, conn.ws.next()).await {
            if self.on_frame(conn, frame).await?.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Closes `conn` without delivering anything more and reports it ended
    /// by [`DisconnectReason::Shutdown`] (best effort: never waits on a
    /// consumer that may itself be stopping).
    pub(super) async fn shut(&mut self, conn: &mut Conn) {
        close(&mut conn.ws).await;
        let conn_id = conn.id;
        let outcome = conn.end(DisconnectReason::Shutdown);
        let _ = self.tx.try_send(StreamItem::Disconnected {
            conn_id,
            at: outcome.lost_at,
            reason: outcome.reason,
        });
    }
}

/// Sleeps until `at`; never resolves for `None` (guard the `select!` branch with it).
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write(ws: &mut Ws, message: WsMessage) -> Result<(), DisconnectReason> {
    within_write_timeout(ws.send(message)).await
}

async fn write_flush(ws: &mut Ws) -> Result<(), DisconnectReason> {
    within_write_timeout(ws.flush()).await
}

async fn within_write_timeout(
    io: impl std::future::Future<Output = Result<(), WsError>>,
) -> Result<(), DisconnectReason> {
    match tokio::time::timeout(WRITE_TIMEOUT, io).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DisconnectReason::Error(e.to_string())),
        Err(_) => Err(DisconnectReason::Error(format!(
            "write blocked for {WRITE_TIMEOUT:?}"
        ))),
    }
}

fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }
}

/// Sends a normal close and waits briefly for the server's answer, discarding what comes.
async fn close(ws: &mut Ws) {
    let goodbye = async {
        if ws.close(Some(normal_close())).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
}
