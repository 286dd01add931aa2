//! Helpers shared by the integration tests: a fast simulator and a WebSocket client.
#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use sim::{SimConfig, SimHandle};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for anything that should happen "soon"; never a synchronisation sleep.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A small market ticking every 30 ms.
pub fn fast() -> SimConfig {
    SimConfig {
        symbols: 120,
        interval: Duration::from_millis(30),
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> SimHandle {
    sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("sim starts")
}

pub async fn connect(sim: &SimHandle, path: &str) -> Client {
    let url = format!("{}{path}", sim.ws_base());
    let (ws, response) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    assert_eq!(response.status(), 101);
    ws
}

/// The next message of any kind, or `None` when the stream ended.
pub async fn next_message(
    ws: &mut Client,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("a message within the patience")
}

/// The next text frame (pings and pongs skipped); panics on close or timeout.
pub async fn next_text(ws: &mut Client) -> String {
    loop {
        match next_message(ws).await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

pub async fn next_json(ws: &mut Client) -> Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON {e}: {text}"))
}

/// Sends a control request and returns its answer (data frames in between are skipped).
pub async fn request(ws: &mut Client, body: &str) -> Value {
    ws.send(Message::text(body)).await.expect("send");
    loop {
        let v = next_json(ws).await;
        if v.get("id").is_some() {
            return v;
        }
    }
}

/// Reads until the server closes; returns the close code (None: no close frame).
pub async fn until_closed(ws: &mut Client) -> Option<u16> {
    loop {
        match next_message(ws).await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return None,
        }
    }
}

/// Waits (polling) until `f` is true, panicking after the patience.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// Key set and value kinds of a JSON object, for shape comparisons.
pub fn shape(v: &Value) -> Vec<(String, &'static str)> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let mut keys: Vec<(String, &'static str)> = v
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), kind(v)))
        .collect();
    keys.sort();
    keys
}
