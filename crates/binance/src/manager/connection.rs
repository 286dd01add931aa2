//! One connection: the handshake, reading it, answering pings, sending control
//! requests at Binance's pace, closing it, and telling why it ended.
//!
//! [`Dialer`] starts connection attempts ([`Attempt`]), numbered and kept under
//! Binance's attempt limit. [`Conn`] is an open connection: it waits for the next
//! [`Event`], and says what a frame asks for ([`Read`]). It does not deliver
//! anything itself: the supervisor hands the items on, so a connection never waits
//! on the consumer.

use futures::{SinkExt, StreamExt};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::backoff::RateLimiter;
use super::config::{StreamConfig, MAX_CONNECT_ATTEMPTS};
use super::control::{Command, Requests, Subscriptions};
use super::item::{DisconnectReason, StreamItem};
use super::stats::Counters;
use super::url::{redact, stream_url};
use crate::event::{decode_elements, decode_elements_spanned, DecodeError, Decoded, Message};

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

/// Starts connection attempts: numbers them, and keeps them within Binance's limit of
/// [`MAX_CONNECT_ATTEMPTS`] per 5 minutes.
pub(super) struct Dialer {
    limiter: RateLimiter,
    /// Id of the latest connection attempt (ids count attempts from 1).
    last_conn_id: u64,
}

impl Dialer {
    pub(super) fn new() -> Self {
        Dialer {
            limiter: RateLimiter::new(MAX_CONNECT_ATTEMPTS, Duration::from_secs(300)),
            last_conn_id: 0,
        }
    }

    /// Starts the next connection attempt to the streams `desired`, or says
    /// when Binance's attempt limit allows one.
    pub(super) fn begin(
        &mut self,
        config: &StreamConfig,
        desired: &[String],
    ) -> Result<Attempt, Instant> {
        let now = Instant::now();
        let allowed = self.limiter.next_allowed(now);
        if allowed > now {
            log::warn!(
                "stream: {MAX_CONNECT_ATTEMPTS} connection attempts in 5 minutes, waiting {:?}",
                allowed - now
            );
            return Err(allowed);
        }
        self.limiter.record(now);
        self.last_conn_id += 1;
        let conn_id = self.last_conn_id;
        let combined = config.combined;
        let url = stream_url(&config.base_url, desired, combined);
        log::info!(
            "stream: connecting #{conn_id} to {} ({} streams)",
            redact(&url),
            desired.len()
        );
        let streams = match combined {
            true => desired.to_vec(),
            false => desired.iter().take(1).cloned().collect(),
        };
        Ok(Attempt {
            conn_id,
            streams,
            task: tokio::spawn(handshake(conn_id, url)),
        })
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
    /// When to open its successor (`StreamConfig::max_connection_age`).
    pub(super) renew_at: Instant,
    /// A data frame (not a control reply) arrived.
    pub(super) got_data: bool,
    /// The server sent `serverShutdown` on it.
    pub(super) shutdown_announced: bool,
    idle: Duration,
    idle_deadline: Instant,
    last_frame_at: SystemTime,
    /// Its control requests, and the streams it carries.
    control: Requests,
    /// Decode with the elements' spans (`StreamConfig::element_spans`).
    element_spans: bool,
}

/// What a frame asks of the supervisor (see [`Conn::read`]).
pub(super) enum Read {
    /// Nothing to hand on (a ping answered, a pong, a control reply settled ...).
    Nothing,
    /// An item for the consumer.
    Deliver(StreamItem),
    /// The server's first `serverShutdown` on this connection (already marked in
    /// [`Conn::shutdown_announced`]): move [`Conn::renew_at`] up, then deliver the item.
    Announced(StreamItem),
    /// The connection has ended.
    Ended(DisconnectReason),
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
    /// Takes the handshake `ws` into service; it carries `streams` (those named in its URL).
    pub(super) fn new(id: u64, ws: Box<Ws>, streams: Vec<String>, config: &StreamConfig) -> Conn {
        let now = Instant::now();
        Conn {
            id,
            ws,
            // A huge age (e.g. `Duration::MAX`) means "never renew".
            renew_at: now
                .checked_add(config.max_connection_age)
                .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400)),
            got_data: false,
            shutdown_announced: false,
            idle: config.idle_timeout,
            idle_deadline: now + config.idle_timeout,
            last_frame_at: SystemTime::now(),
            control: Requests::new(streams),
            element_spans: config.element_spans,
        }
    }

    /// Waits for the next thing to do; cancel-safe (nothing happens until handled).
    pub(super) async fn next_event(&mut self) -> Event {
        let send_at = self.control.send_at(Instant::now());
        let control_at = self.control.deadline();
        tokio::select! {
            _ = tokio::time::sleep_until(self.idle_deadline) => Event::Idle,
            _ = sleep_until_some(send_at), if send_at.is_some() => Event::SendDue,
            _ = sleep_until_some(control_at), if control_at.is_some() => Event::ControlDue,
            frame = self.ws.next() => Event::Frame(frame),
        }
    }

    /// Settles what is still waiting and says how the connection ended.
    pub(super) fn end(&mut self, reason: DisconnectReason) -> Outcome {
        self.control.settle_on_disconnect();
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

    /// Why the connection ends when [`Event::Idle`] fires: no frame for the idle timeout.
    pub(super) fn idle_timeout(&self) -> DisconnectReason {
        DisconnectReason::IdleTimeout(self.idle)
    }

    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE` requests so that this connection carries
    /// exactly the wanted streams (after connect: the ones its URL did not name).
    pub(super) fn sync_streams(&mut self, subscriptions: &mut Subscriptions) {
        self.control.sync(subscriptions);
    }

    /// Queues a handle's request on this connection.
    pub(super) fn command(&mut self, subscriptions: &mut Subscriptions, command: Command) {
        self.control.command(subscriptions, command);
    }

    /// [`Event::SendDue`]: writes the next queued control request; `Some` when the
    /// connection has ended.
    pub(super) async fn send_queued(
        &mut self,
        reply_timeout: Duration,
    ) -> Option<DisconnectReason> {
        let (text, id) = self.control.pop_queued()?;
        log::debug!("stream: #{} sending control request {id}", self.id);
        let sent = write(&mut self.ws, WsMessage::text(text)).await;
        self.control.sent(id, reply_timeout);
        sent.err()
    }

    /// [`Event::ControlDue`]: re-sends or gives up on unanswered control requests;
    /// `Some` when the connection is to be replaced.
    pub(super) fn control_due(&mut self, config: &StreamConfig) -> Option<DisconnectReason> {
        self.control.due(self.id, config)
    }

    /// Takes in one frame ([`Event::Frame`]): answers pings, settles control replies,
    /// counts, decodes, and says what is left to do. After handing on a
    /// [`Read::Nothing`], [`Read::Deliver`] or [`Read::Announced`], call
    /// [`Conn::frame_handled`].
    pub(super) async fn read(
        &mut self,
        frame: Option<Result<WsMessage, WsError>>,
        counters: &Counters,
        subscriptions: &mut Subscriptions,
    ) -> Read {
        self.last_frame_at = SystemTime::now();
        let frame = match frame {
            None => {
                return Read::Ended(DisconnectReason::Closed {
                    code: None,
                    reason: "connection ended without a close frame".into(),
                })
            }
            Some(Err(e)) => return Read::Ended(DisconnectReason::Error(e.to_string())),
            Some(Ok(frame)) => frame,
        };
        let conn_id = self.id;
        match frame {
            WsMessage::Text(raw) => self.read_text(raw, counters, subscriptions),
            WsMessage::Binary(bytes) => {
                self.got_data = true;
                Counters::bump(&counters.frames);
                Counters::bump(&counters.malformed);
                let error = DecodeError::NotText { len: bytes.len() };
                Read::Deliver(StreamItem::Malformed { conn_id, error })
            }
            // tungstenite queued the pong; push it out now rather than on the
            // next read, which a slow consumer could delay.
            WsMessage::Ping(_) => match write_flush(&mut self.ws).await {
                Ok(()) => Read::Nothing,
                Err(reason) => Read::Ended(reason),
            },
            WsMessage::Pong(_) | WsMessage::Frame(_) => Read::Nothing,
            WsMessage::Close(frame) => {
                // Sends tungstenite's queued close reply.
                let _ = write_flush(&mut self.ws).await;
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                Read::Ended(DisconnectReason::Closed { code, reason })
            }
        }
    }

    /// Decodes a text frame into the item to deliver.
    fn read_text(
        &mut self,
        raw: Utf8Bytes,
        counters: &Counters,
        subscriptions: &mut Subscriptions,
    ) -> Read {
        Counters::bump(&counters.frames);
        let conn_id = self.id;
        let received_at = SystemTime::now();
        let decode = match self.element_spans {
            true => decode_elements_spanned,
            false => decode_elements,
        };
        let Decoded {
            message,
            rejected,
            spans,
        } = match decode(raw.as_str()) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.got_data = true;
                Counters::bump(&counters.malformed);
                log::debug!("stream: #{conn_id} malformed frame: {error}");
                return Read::Deliver(StreamItem::Malformed { conn_id, error });
            }
        };
        let mut announced = false;
        match &message {
            Message::ControlReply(_) | Message::ControlError { .. } => {
                self.control.settle_reply(subscriptions, &message)
            }
            Message::ServerShutdown { .. } => {
                log::warn!("stream: #{conn_id} announced serverShutdown");
                if !self.shutdown_announced {
                    self.shutdown_announced = true;
                    announced = true;
                }
            }
            Message::MiniTickers(_) | Message::Other { .. } => self.got_data = true,
        }
        if !rejected.is_empty() {
            counters
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
            spans,
        };
        match announced {
            true => Read::Announced(item),
            false => Read::Deliver(item),
        }
    }

    /// A frame has been handled (its item delivered): the idle watchdog starts
    /// over. Time spent waiting on the consumer is not silence on the wire.
    pub(super) fn frame_handled(&mut self) {
        self.idle_deadline = Instant::now() + self.idle;
    }

    /// Sends our close frame; returns how long to read on for the server's answer,
    /// `None` when the close could not be sent.
    pub(super) async fn send_close(&mut self) -> Option<Instant> {
        write(&mut self.ws, WsMessage::Close(Some(normal_close())))
            .await
            .ok()?;
        Some(Instant::now() + CLOSE_TIMEOUT)
    }

    /// The next frame, if one comes before `deadline`.
    pub(super) async fn frame_before(
        &mut self,
        deadline: Instant,
    ) -> Option<Option<Result<WsMessage, WsError>>> {
        tokio::time::timeout_at(deadline, self.ws.next()).await.ok()
    }

    /// Sends a normal close and waits briefly for the server's answer, discarding what
    /// comes.
    pub(super) async fn close(&mut self) {
        close(&mut self.ws).await;
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
