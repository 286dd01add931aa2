//! `--exec` and `--webhook` end to end: the real `alerter` against the simulated exchange,
//! a command writing to a file, and a small HTTP server on 127.0.0.1 that records what it
//! is sent and fails the first request.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A webhook receiver: every request body goes to the channel; the first `fail_first`
/// requests are answered 500, the rest 204.
async fn webhook_server(fail_first: usize) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/T000SECRET/B000TOKEN",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut served = 0;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let Some(body) = read_request(&mut socket).await else {
                continue;
            };
            served += 1;
            let status = if served <= fail_first {
                "500 Internal Server Error"
            } else {
                "204 No Content"
            };
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = socket.write_all(reply.as_bytes()).await;
            let _ = tx.send(body);
        }
    });
    (url, rx)
}

/// The body of one HTTP/1.1 request with a Content-Length (None if the client went away).
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("post /hooks/"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    while buf.len() < head_end + len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned())
}

/// Watch BTCUSDT above 43680, printing every update (so the test knows the path is done).
const WATCH: [&str; 5] = ["--symbol", "BTCUSDT", "--above", "43680", "-v"];

const PATH: [&str; 5] = [
    "43679.99000000",
    "43680.01000000",
    "43680.00000000",
    "43700.00000000",
    "43650.00000000",
];

#[tokio::test]
async fn exec_and_webhook_get_every_alert_and_a_failing_webhook_stops_nothing() {
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    let (url, mut bodies) = webhook_server(1).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("alerts.txt");
    let cmd = format!(
        "echo \"$ALERT_SYMBOL $ALERT_DIRECTION $ALERT_LEVEL $ALERT_PRICE\" >> '{}'",
        file.display()
    );
    let extra = ["--exec", &cmd, "--webhook", &url];
    let mut alerter = spawn_alerter(&sim, &[&WATCH[..], &extra].concat());
    let lines = alerter.lines(PATH.len()).await;
    let b = "BTCUSDT";
    assert_eq!(lines[1], above(b, "43680", "43680.01000000"));
    assert_eq!(lines[3], above(b, "43680", "43700.00000000"));

    // The first POST got a 500; the second alert is still sent.
    let mut got = Vec::new();
    for _ in 0..2 {
        let body = tokio::time::timeout(PATIENCE, bodies.recv())
            .await
            .expect("webhook called")
            .expect("server alive");
        got.push(serde_json::from_str::<Value>(&body).expect("JSON body"));
    }
    for (json, price) in got.iter().zip(["43680.01000000", "43700.00000000"]) {
        assert_eq!(json["symbol"], "BTCUSDT", "{json}");
        assert_eq!(json["direction"], "above", "{json}");
        assert_eq!(json["level"], "43680", "{json}");
        assert_eq!(json["price"], price, "{json}");
        let time = json["time"].as_str().expect("time");
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    }

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.lines().count() >= 2 || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first_two: Vec<&str> = text.lines().take(2).collect();
    assert_eq!(
        first_two,
        [
            "BTCUSDT above 43680 43680.01000000",
            "BTCUSDT above 43680 43700.00000000"
        ]
    );
    let stderr = alerter.stop().await;
    assert!(stderr.contains("--webhook: HTTP 500"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_webhook_is_logged_without_its_secret_url() {
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/T000SECRET/B000TOKEN");
    let extra = ["--webhook", &url];
    let mut alerter = spawn_alerter(&sim, &[&WATCH[..], &extra].concat());
    let lines = alerter.lines(PATH.len()).await;
    assert_eq!(lines[3], above("BTCUSDT", "43680", "43700.00000000"));
    let log_path = alerter.dir.path().join("app.log");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("--webhook: POST failed")
    {
        assert!(tokio::time::Instant::now() < deadline, "no failure logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = std::fs::read_to_string(&log_path).unwrap();
    let stderr = alerter.stop().await;
    assert!(stderr.contains("--webhook: POST failed"), "{stderr}");
    for text in [&stderr, &log] {
        assert!(
            !text.contains("SECRET") && !text.contains("B000TOKEN"),
            "{text}"
        );
    }
}

/// A UTF-8 symbol reaches `--exec`'s environment and the webhook JSON unchanged.
#[tokio::test]
async fn exec_and_webhook_carry_a_utf8_symbol_unchanged() {
    let symbol = "币安人生USDT";
    let sim = start_sim(vec![(symbol, path(&["0.09000000", "0.10000001"]))]).await;
    let (url, mut bodies) = webhook_server(0).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("alerts.txt");
    let cmd = format!(
        "echo \"$ALERT_SYMBOL $ALERT_DIRECTION $ALERT_LEVEL $ALERT_PRICE\" >> '{}'",
        file.display()
    );
    let args = [
        "--symbol",
        symbol,
        "--above",
        "0.1",
        "-v",
        "--exec",
        &cmd,
        "--webhook",
        &url,
    ];
    let mut alerter = spawn_alerter(&sim, &args);
    assert_eq!(
        alerter.lines(2).await[1],
        above(symbol, "0.1", "0.10000001")
    );
    let body = tokio::time::timeout(PATIENCE, bodies.recv())
        .await
        .expect("webhook called")
        .expect("server alive");
    let json: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(
        (json["symbol"].as_str(), json["price"].as_str()),
        (Some(symbol), Some("0.10000001"))
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.is_empty() || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(text.trim_end(), "币安人生USDT above 0.1 0.10000001");
    alerter.stop().await;
}
