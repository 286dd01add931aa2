//! The real binary when the servers misbehave: a SUBSCRIBE that gets no reply, a REST
//! check that fails or never answers.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_subscribe_without_a_reply_is_sent_again_and_both_symbols_alert() {
    let sim = start_sim(vec![
        ("BTCUSDT", path(&["43681.00000000"])),
        ("ETHBTC", path(&["0.06000000"])),
    ])
    .await;
    // BTCUSDT goes in the connection's URL, ETHBTC by SUBSCRIBE: the first one is lost.
    sim.ignore_subscribes(1);
    let args = [
        "--symbol", "BTCUSDT", "--above", "43680", "--symbol", "ETHBTC", "--above", "0.05",
    ];
    let mut alerter = spawn_alerter(&sim, &args);
    let mut lines = alerter.lines(2).await;
    lines.sort();
    assert_eq!(
        lines,
        vec![
            above("BTCUSDT", "43680", "43681.00000000"),
            above("ETHBTC", "0.05", "0.06000000"),
        ]
    );
    let stderr = alerter.stop().await;
    assert!(
        stderr.contains("no reply to SUBSCRIBE ethbtc@miniTicker"),
        "the lost request is named: {stderr}"
    );
}

#[tokio::test]
async fn a_failed_symbol_check_is_tried_again_and_the_price_is_not_read_as_a_symbol() {
    let sim = start_sim(vec![("BTCUSDT", path(&["43681.00000000"]))]).await;
    sim.set_http_faults(0, 1); // the first REST request answers 503
    let mut alerter = spawn_alerter(&sim, &[]);
    let mut stdin = alerter.child.stdin.take().unwrap();
    stdin.write_all(b"btcusdt\n43680\n").await.unwrap();
    stdin.flush().await.unwrap();
    let mut first = String::new();
    alerter.stdout.read_line(&mut first).await.unwrap();
    let prompts = format!("{SYMBOL_PROMPT}Enter price to monitor BTCUSDT symbol: ");
    let alert = first
        .strip_prefix(&prompts)
        .unwrap_or_else(|| panic!("the questions are out of step: {first:?}"));
    assert_eq!(
        strip_time(alert.trim_end()),
        above("BTCUSDT", "43680", "43681.00000000")
    );
    let stderr = alerter.stop().await;
    assert!(
        stderr.contains("could not check symbol BTCUSDT: exchange error -1001 (HTTP 503)")
            && stderr.contains("checking again in 1s"),
        "stderr: {stderr}"
    );
}

#[tokio::test]
async fn a_rest_error_names_its_cause() {
    let sim = start_sim(vec![]).await;
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let args = ["--symbol", "BTCUSDT", "--above", "1"];
    let alerter = spawn_alerter_env(&sim, &args, &[("BINANCE_REST_URL", &refused)]);
    let output = tokio::time::timeout(PATIENCE, alerter.child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("alerter: could not check symbol BTCUSDT: request to ")
            && last.ends_with("/api/v3/exchangeInfo failed: connection refused"),
        "{last:?}"
    );
}

// Real time: it drives the alerter binary, a child process whose clock paused time cannot reach.
#[tokio::test]
async fn sigint_during_the_start_up_check_exits_0_with_the_exit_line() {
    let sim = start_sim(vec![]).await;
    // A REST server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let args = ["--symbol", "BTCUSDT", "--above", "1"];
    let mut alerter = spawn_alerter_env(&sim, &args, &[("BINANCE_REST_URL", &url)]);
    let (_held, _) = tokio::time::timeout(PATIENCE, silent.accept())
        .await
        .expect("the check connects")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pid = alerter.child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let mut stdout = String::new();
    alerter.stdout.read_to_string(&mut stdout).await.unwrap();
    let output = tokio::time::timeout(PATIENCE, alerter.child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout, "Received exit, exiting\n");
}
