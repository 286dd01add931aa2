//! `--metrics-addr` and `--log-format json` end to end: the real alerter against the
//! simulator; `/metrics` checked by `promtool`, `/health` following a stall of the feed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;

const BTC_PATH: [&str; 4] = [
    "43679.99000000",
    "43680.01000000",
    "43650.00000000",
    "43700.00000000",
];

/// `ops::probe::get` off the test's runtime.
async fn get(addr: SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || ops::probe::get(addr, path, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap_or((0, String::new()))
}

/// Polls `/health` until it answers `status`.
async fn wait_health(addr: SocketAddr, status: u16) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (got, body) = get(addr, "/health").await;
        if got == status {
            return serde_json::from_str(&body).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "/health never answered {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_json_logs() {
    let sim = start_sim(vec![("BTCUSDT", path(&BTC_PATH))]).await;
    // A free port for the endpoint (the alerter's stderr is read only at the end).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let addr_arg = addr.to_string();
    let mut alerter = spawn_alerter(
        &sim,
        &[
            "--symbol",
            "BTCUSDT",
            "--above",
            "43680",
            // Keeps updates coming after BTCUSDT's scripted path ends; never alerts.
            "--symbol",
            "ETHBTC",
            "--below",
            "0.00000001",
            "--idle-timeout-secs",
            "2",
            "--metrics-addr",
            &addr_arg,
            "--log-format",
            "json",
        ],
    );
    assert_eq!(
        alerter.lines(2).await,
        vec![
            above("BTCUSDT", "43680", "43680.01000000"),
            above("BTCUSDT", "43680", "43700.00000000")
        ]
    );
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    ops::probe::promtool_check_metrics(&text).unwrap();
    for needle in [
        "alerter_alerts_total{symbol=\"BTCUSDT\",direction=\"above\"} 2",
        "alerter_feed_up 1",
        "alerter_updates_total",
        "alerter_last_update_timestamp_seconds",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    assert_eq!(wait_health(addr, 200).await["status"], "ok");

    sim.set_stalled(true);
    let body = wait_health(addr, 503).await;
    assert!(
        body["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no update for"),
        "{body}"
    );
    sim.set_stalled(false);
    wait_health(addr, 200).await;

    // Read before stopping: the log file goes with the harness' temp dir.
    let file = std::fs::read_to_string(alerter.dir.path().join("app.log")).unwrap();
    let stderr = alerter.stop().await;
    assert!(file.lines().count() >= 2, "{file}");
    for line in stderr.lines().chain(file.lines()) {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(json["message"].is_string(), "{line}");
    }
}
