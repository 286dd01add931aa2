//! A tiny WebSocket server on 127.0.0.1 that each manager test drives by hand,
//! and helpers to expect the manager's items in order.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use binance::{DisconnectReason, Message, StreamConfig, StreamItem};
use futures::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

pub const WAIT: Duration = Duration::from_secs(5);
pub const MINI_COMBINED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/binance_spot_btcusdt_miniTicker_combined_2020-10-02.json"
));

/// One accepted connection and the request target it asked for.
pub struct Conn {
    pub ws: WebSocketStream<TcpStream>,
    pub path: String,
}

impl Conn {
    pub async fn send(&mut self, text: &str) {
        self.ws.send(Ws::text(text)).await.expect("server send");
    }

    /// The next text frame from the client, as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("client frame in time")
                .expect("connection open")
                .expect("valid frame");
            if let Ws::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("client sends JSON");
            }
        }
    }

    /// Answers a control request with Binance's success reply; returns the request.
    pub async fn ack_next(&mut self) -> serde_json::Value {
        let request = self.next_json().await;
        let reply = serde_json::json!({"result": null, "id": request["id"]});
        self.send(&reply.to_string()).await;
        request
    }

    /// Reads until the client's close frame; its code, or `None` if the
    /// connection ended without one.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(Ws::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }
}

pub struct Server {
    pub addr: std::net::SocketAddr,
    conns: mpsc::UnboundedReceiver<Conn>,
    refuse: Arc<AtomicBool>,
}

impl Server {
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, conns) = mpsc::unbounded_channel();
        let refuse = Arc::new(AtomicBool::new(false));
        let refusing = refuse.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let tx = tx.clone();
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    let mut path = String::new();
                    // The error type is tungstenite's, not ours.
                    #[allow(clippy::result_large_err)]
                    let record = |req: &Request, resp: Response| {
                        if refusing.load(Ordering::SeqCst) {
                            let mut refusal = ErrorResponse::new(Some("maintenance".into()));
                            *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                            return Err(refusal);
                        }
                        path = req.uri().to_string();
                        Ok(resp)
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, record).await {
                        let _ = tx.send(Conn { ws, path });
                    }
                });
            }
        });
        Server {
            addr,
            conns,
            refuse,
        }
    }

    /// While `true`, WebSocket handshakes are answered with HTTP 503.
    pub fn refuse_handshakes(&self, refuse: bool) {
        self.refuse.store(refuse, Ordering::SeqCst);
    }

    pub fn config(&self, streams: &[&str]) -> StreamConfig {
        let mut config = StreamConfig::new(
            format!("ws://{}", self.addr),
            streams.iter().map(|s| s.to_string()).collect(),
        );
        config.idle_timeout = Duration::from_secs(5);
        config.initial_backoff = Duration::from_millis(20);
        config.max_backoff = Duration::from_millis(100);
        config
    }

    pub async fn accept(&mut self) -> Conn {
        tokio::time::timeout(WAIT, self.conns.recv())
            .await
            .expect("client connects in time")
            .expect("server running")
    }
}

pub async fn next_item(rx: &mut mpsc::Receiver<StreamItem>) -> StreamItem {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("item in time")
        .expect("manager running")
}

pub async fn expect_connected(rx: &mut mpsc::Receiver<StreamItem>, want: u64) {
    match next_item(rx).await {
        StreamItem::Connected { conn_id, .. } => assert_eq!(conn_id, want),
        other => panic!("expected Connected #{want}, got {other:?}"),
    }
}

pub async fn expect_disconnected(
    rx: &mut mpsc::Receiver<StreamItem>,
    want: u64,
) -> DisconnectReason {
    match next_item(rx).await {
        StreamItem::Disconnected {
            conn_id, reason, ..
        } => {
            assert_eq!(conn_id, want);
            reason
        }
        other => panic!("expected Disconnected #{want}, got {other:?}"),
    }
}

pub async fn expect_gap(rx: &mut mpsc::Receiver<StreamItem>) -> (Duration, DisconnectReason) {
    match next_item(rx).await {
        StreamItem::Gap { from, to, reason } => {
            (to.duration_since(from).expect("from <= to"), reason)
        }
        other => panic!("expected Gap, got {other:?}"),
    }
}

pub async fn expect_message(rx: &mut mpsc::Receiver<StreamItem>) -> (u64, String, Message) {
    match next_item(rx).await {
        StreamItem::Message {
            conn_id,
            raw,
            message,
            ..
        } => (conn_id, raw.as_str().to_owned(), message),
        other => panic!("expected Message, got {other:?}"),
    }
}

/// The simulated exchange started with `sim_config`, and a manager on its
/// `!miniTicker@arr` stream (reconnecting after 20 ms), with `tune` applied to its config.
pub async fn spawn_on_sim(
    sim_config: sim::SimConfig,
    tune: impl FnOnce(&mut StreamConfig),
) -> (
    sim::SimHandle,
    binance::StreamHandle,
    mpsc::Receiver<StreamItem>,
) {
    let sim = sim::start("127.0.0.1:0".parse().unwrap(), sim_config)
        .await
        .unwrap();
    let mut config = StreamConfig::new(sim.ws_base(), vec!["!miniTicker@arr".into()]);
    config.initial_backoff = Duration::from_millis(20);
    tune(&mut config);
    let (handle, rx) = binance::spawn(config);
    (sim, handle, rx)
}
