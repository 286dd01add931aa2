//! UTF-8 symbols (`币安人生USDT`, listed by Binance since December 2025) end to end: the
//! real `alerter` with flags and interactively, against the simulator sending the name raw
//! and as `\uXXXX` escapes. The alert lines carry the name unchanged.

mod common;

use std::time::Duration;

use common::*;
use sim::market::NonAscii;
use tokio::io::AsyncWriteExt;

const SYMBOL: &str = "币安人生USDT";
const PATH: [&str; 4] = ["0.09000000", "0.10000001", "0.10000000", "0.12500000"];

async fn start(non_ascii: NonAscii) -> sim::SimHandle {
    let config = sim::SimConfig {
        interval: Duration::from_millis(40),
        symbols: 50,
        price_paths: vec![(SYMBOL.to_owned(), path(&PATH))],
        non_ascii,
        ..sim::SimConfig::default()
    };
    sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("sim starts")
}

fn expected() -> Vec<String> {
    vec![
        quiet(SYMBOL, "0.09000000"),
        above(SYMBOL, "0.1", "0.10000001"),
        quiet(SYMBOL, "0.10000000"),
        above(SYMBOL, "0.1", "0.12500000"),
    ]
}

#[tokio::test]
async fn flags_with_a_utf8_symbol_alert_with_its_name_raw_or_escaped() {
    for non_ascii in [NonAscii::Raw, NonAscii::Escaped] {
        let sim = start(non_ascii).await;
        // Lower-case ASCII is upper-cased; the Chinese characters stay as typed.
        let args = ["--symbol", "币安人生usdt", "--above", "0.1", "-v"];
        let mut alerter = spawn_alerter(&sim, &args);
        assert_eq!(alerter.lines(PATH.len()).await, expected(), "{non_ascii:?}");
        let stderr = alerter.stop().await;
        assert!(!stderr.contains("unreadable"), "{non_ascii:?}: {stderr}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn interactive_mode_takes_a_utf8_symbol() {
    let sim = start(NonAscii::Escaped).await;
    let mut alerter = spawn_alerter(&sim, &["-v"]);
    let mut stdin = alerter.child.stdin.take().unwrap();
    stdin
        .write_all("币安人生usdt\n0.1\n".as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let prompts = format!("{SYMBOL_PROMPT}Enter price to monitor {SYMBOL} symbol: ");
    let lines = alerter.lines_after_prompts(&prompts, PATH.len()).await;
    assert_eq!(lines, expected());
    alerter.stop().await;
}

#[tokio::test]
async fn a_utf8_symbol_exchange_info_does_not_list_is_unknown() {
    let sim = start(NonAscii::Raw).await;
    let alerter = spawn_alerter(&sim, &["--symbol", "币安死生USDT", "--above", "1"]);
    let output = tokio::time::timeout(PATIENCE, alerter.child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown symbol 币安死生USDT"), "{stderr}");
}
