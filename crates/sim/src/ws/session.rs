//! One WebSocket connection: delivers the subscribed streams of each tick, answers control
//! messages, pings, and enforces Binance's limits (5 incoming messages per second, pong
//! timeout, 24 h connection age) plus the injected faults.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::control::{self, Subscriptions};
use super::{stopped, wrap, Control, TickFrame};
use crate::faults::{corrupt, lock, Fate, FrameFaults};
use crate::server::now_ms;
use crate::{SentTicker, Shared};

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// Incoming messages allowed per second (text, binary and ping frames count; pongs do not,
/// so that answering the server's pings never trips the limit).
const MAX_INCOMING_PER_SEC: usize = 5;

/// How the session ends.
enum End {
    /// Send a close frame first.
    Close(CloseCode, &'static str),
    /// Just drop the socket (peer gone, or `drop_all`).
    Abort,
}

/// Which tickers of the tick a data frame carries.
enum Carries {
    All,
    One(usize),
}

struct Session {
    shared: Arc<Shared>,
    conn_id: u64,
    subs: Subscriptions,
    faults: FrameFaults,
    /// Payloads of pings not yet answered, oldest first, with the deadline of the oldest.
    pings: VecDeque<Vec<u8>>,
    pong_deadline: Option<Instant>,
    incoming: VecDeque<Instant>,
}

/// Runs a connection until it ends, registered in the shared connection table meanwhile.
pub(super) async fn run(shared: Arc<Shared>, mut ws: Ws, streams: Vec<String>, combined: bool) {
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
    // Subscribe to the broadcasts before registering, so that no tick is missed by a
    // connection the market already counts as listening.
    let mut ticks = shared.ticks.subscribe();
    let mut control = shared.control.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    let subs = Subscriptions::new(streams, combined);
    shared.register(conn_id, subs.list());
    let mut s = Session {
        faults: FrameFaults::new(&shared.config.faults),
        shared,
        conn_id,
        subs,
        pings: VecDeque::new(),
        pong_deadline: None,
        incoming: VecDeque::new(),
    };
    let end = s
        .serve(&mut ws, &mut ticks, &mut control, &mut shutdown)
        .await;
    if let End::Close(code, reason) = end {
        close(&mut ws, code, reason).await;
    }
    s.shared.unregister(conn_id);
}

impl Session {
    async fn serve(
        &mut self,
        ws: &mut Ws,
        ticks: &mut tokio::sync::broadcast::Receiver<Arc<TickFrame>>,
        control: &mut tokio::sync::broadcast::Receiver<Control>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> End {
        let config = self.shared.config.clone();
        let start = Instant::now();
        let max_age = start + config.max_connection_age;
        let mut ping = tokio::time::interval_at(start + config.ping_interval, config.ping_interval);
        let far = start + Duration::from_secs(100 * 365 * 86_400);
        loop {
            let pong_deadline = self
                .pong_deadline
                .filter(|_| config.faults.pong_check)
                .unwrap_or(far);
            tokio::select! {
                _ = stopped(shutdown) => return End::Close(CloseCode::Away, "server shutting down"),
                _ = sleep_until(max_age) => return End::Close(CloseCode::Away, "connection age limit"),
                _ = sleep_until(pong_deadline) => return End::Close(CloseCode::Policy, "pong timeout"),
                _ = ping.tick() => {
                    let payload = now_ms().to_string().into_bytes();
                    if ws.send(Message::Ping(payload.clone().into())).await.is_err() {
                        return End::Abort;
                    }
                    if self.pings.is_empty() {
                        self.pong_deadline = Some(Instant::now() + config.pong_timeout);
                    }
                    self.pings.push_back(payload);
                }
                command = control.recv() => match command {
                    Ok(Control::Disconnect) => return End::Close(CloseCode::Away, "disconnect"),
                    Ok(Control::DisconnectOne(id)) if id == self.conn_id => {
                        return End::Close(CloseCode::Away, "disconnect")
                    }
                    Ok(Control::DisconnectOne(_)) => {}
                    Ok(Control::Drop) => return End::Abort,
                    Ok(Control::Malformed(n)) => self.faults.inject(n),
                    Ok(Control::ServerShutdown) => {
                        let event = format!(r#"{{"e":"serverShutdown","E":{}}}"#, now_ms());
                        if ws.send(Message::text(event)).await.is_err() {
                            return End::Abort;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return End::Close(CloseCode::Away, "server gone"),
                },
                tick = ticks.recv() => match tick {
                    Ok(frame) => {
                        if let Some(end) = self.deliver(ws, &frame).await {
                            return end;
                        }
                    }
                    Err(RecvError::Lagged(n)) => log::debug!("connection {} skipped {n} ticks", self.conn_id),
                    Err(RecvError::Closed) => return End::Close(CloseCode::Away, "server gone"),
                },
                incoming = ws.next() => match incoming {
                    None | Some(Err(_)) => return End::Abort,
                    Some(Ok(message)) => {
                        if let Some(end) = self.on_message(ws, message).await {
                            return end;
                        }
                    }
                },
            }
        }
    }

    async fn on_message(&mut self, ws: &mut Ws, message: Message) -> Option<End> {
        if matches!(
            message,
            Message::Text(_) | Message::Binary(_) | Message::Ping(_)
        ) {
            let now = Instant::now();
            self.incoming.push_back(now);
            while self
                .incoming
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                self.incoming.pop_front();
            }
            if self.incoming.len() > MAX_INCOMING_PER_SEC {
                return Some(End::Close(CloseCode::Policy, "Too many messages"));
            }
        }
        match message {
            Message::Text(text)
                if control::is_subscribe(&text) && self.shared.faults.swallow_subscribe() =>
            {
                log::debug!("connection {}: SUBSCRIBE ignored (fault)", self.conn_id);
            }
            Message::Text(text) => {
                let answer = control::handle(&text, &mut self.subs);
                if answer.changed {
                    self.shared.register(self.conn_id, self.subs.list());
                }
                if ws.send(Message::text(answer.text)).await.is_err() {
                    return Some(End::Abort);
                }
            }
            Message::Binary(_) => {
                let answer =
                    r#"{"code":3,"msg":"Invalid JSON: binary frames are not supported","id":null}"#;
                if ws.send(Message::text(answer)).await.is_err() {
                    return Some(End::Abort);
                }
            }
            Message::Pong(payload) => {
                if let Some(pos) = self.pings.iter().position(|p| p[..] == payload[..]) {
                    self.pings.drain(..=pos);
                    self.pong_deadline = (!self.pings.is_empty())
                        .then(|| Instant::now() + self.shared.config.pong_timeout);
                }
            }
            // Pings are answered by tungstenite; a close is answered and then ends the stream.
            Message::Ping(_) | Message::Close(_) | Message::Frame(_) => {}
        }
        None
    }

    /// Sends this connection's frames of one tick; `Some` when the connection must end.
    async fn deliver(&mut self, ws: &mut Ws, frame: &TickFrame) -> Option<End> {
        let mut out: Vec<(Utf8Bytes, Carries)> = Vec::new();
        if self.subs.all_market && !frame.tickers.is_empty() {
            let text = if self.subs.combined {
                &frame.combined
            } else {
                &frame.raw
            };
            out.push((text.clone(), Carries::All));
        }
        if !self.subs.symbols.is_empty() {
            for (i, t) in frame.tickers.iter().enumerate() {
                if let Some(stream) = self.subs.symbols.get(&*t.symbol) {
                    let non_ascii = self.shared.config.non_ascii;
                    let object = t.to_json_with(non_ascii);
                    let text = if self.subs.combined {
                        wrap(stream, &object, non_ascii)
                    } else {
                        object
                    };
                    out.push((text.into(), Carries::One(i)));
                }
            }
        }
        for (text, carries) in out {
            let fate = self.faults.next(self.shared.faults.is_stalled());
            let message = match fate {
                Fate::Withhold => continue,
                Fate::Malformed => Message::text(corrupt(&text)),
                Fate::Send => Message::Text(text),
            };
            if ws.send(message).await.is_err() {
                return Some(End::Abort);
            }
            if fate == Fate::Send {
                let tickers = match carries {
                    Carries::All => &frame.tickers[..],
                    Carries::One(i) => std::slice::from_ref(&frame.tickers[i]),
                };
                self.record(tickers);
            }
            if self.faults.should_close() {
                return Some(End::Close(CloseCode::Away, "close-after fault"));
            }
        }
        None
    }

    fn record(&self, tickers: &[crate::market::Ticker]) {
        self.shared
            .sent_count
            .fetch_add(tickers.len(), Ordering::Relaxed);
        if self.shared.config.record_sent {
            let sent_at_ms = crate::server::now_ms();
            let mut sent = lock(&self.shared.sent);
            sent.extend(tickers.iter().map(|t| SentTicker {
                conn_id: self.conn_id,
                sent_at_ms,
                symbol: t.symbol.to_string(),
                event_time: t.event_time,
                close: t.close.clone(),
            }));
        }
    }
}

/// Sends a close frame and waits briefly for the peer's answer.
async fn close(ws: &mut Ws, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if ws.send(Message::Close(Some(frame))).await.is_ok() {
        let drain = async { while let Some(Ok(_)) = ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_millis(250), drain).await;
    }
}
