//! The real `alerter` binary against the simulated exchange, started in-process.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn alerts_are_exactly_the_updates_beyond_the_level() {
    let sim = start_sim(vec![("BTCUSDT", path(&BTC_PATH))]).await;
    // -v makes every update visible, so the test knows when the path is done.
    let mut alerter = spawn_alerter(&sim, &["--symbol", "btcusdt", "--above", "43680", "-v"]);
    let lines = alerter.lines(BTC_PATH.len()).await;
    let b = "BTCUSDT";
    assert_eq!(
        lines,
        vec![
            quiet(b, "43679.99000000"),
            quiet(b, "43680.00000000"),
            above(b, "43680", "43680.01000000"),
            above(b, "43680", "43700.00000000"),
            quiet(b, "43680.00000000"),
            quiet(b, "43650.00000000"),
            above(b, "43680", "43681.00000000"),
        ]
    );
    alerter.stop().await;
}

#[tokio::test]
async fn on_cross_alerts_once_per_crossing_for_each_symbol_on_one_connection() {
    let sim = start_sim(vec![
        ("BTCUSDT", path(&BTC_PATH)),
        ("ETHBTC", path(&ETH_PATH)),
    ])
    .await;
    let mut alerter = spawn_alerter(&sim, &ON_CROSS_ARGS);
    let lines = alerter.lines(BTC_PATH.len() + ETH_PATH.len()).await;
    let of = |s: &str| {
        lines
            .iter()
            .filter(|l| l.contains(s))
            .cloned()
            .collect::<Vec<_>>()
    };
    let b = "BTCUSDT";
    assert_eq!(
        of(b),
        vec![
            quiet(b, "43679.99000000"),
            quiet(b, "43680.00000000"),
            above(b, "43680", "43680.01000000"),
            quiet(b, "43700.00000000"),
            quiet(b, "43680.00000000"),
            quiet(b, "43650.00000000"),
            above(b, "43680", "43681.00000000"),
        ]
    );
    let e = "ETHBTC";
    assert_eq!(
        of(e),
        vec![
            quiet(e, "0.03100000"),
            below(e, "0.03", "0.02999999"),
            quiet(e, "0.02990000"),
            quiet(e, "0.03000000"),
            below(e, "0.03", "0.02900000"),
        ]
    );
    alerter.stop().await;
    assert_eq!(
        sim.connection_count_total(),
        1,
        "both symbols share one connection"
    );
}

// Real time: it drives the alerter binary, a child process whose clock paused time cannot reach.
#[tokio::test]
async fn alerts_resume_after_a_forced_disconnect_and_a_server_shutdown() {
    let prices: Vec<String> = (1..=40).map(|i| format!("{}.00000000", 100 + i)).collect();
    let sim = start_sim(vec![("BTCUSDT", prices.clone())]).await;
    let mut alerter = spawn_alerter(&sim, &["--symbol", "BTCUSDT", "--above", "100"]);
    let mut seen = alerter.lines(3).await;
    sim.disconnect_all();
    // The path only advances while someone is subscribed, so after the reconnect the
    // alerts go on; an update on the wire at the moment of the cut may be lost.
    seen.extend(alerter.lines(3).await);
    sim.server_shutdown();
    let last = above("BTCUSDT", "100", prices.last().unwrap());
    while seen.last() != Some(&last) {
        seen.extend(alerter.lines(1).await);
    }
    let expected: Vec<String> = prices.iter().map(|p| above("BTCUSDT", "100", p)).collect();
    let mut rest = expected.iter();
    assert!(
        seen.iter().all(|l| rest.any(|e| e == l)),
        "not in path order: {seen:?}"
    );
    assert!(sim.connection_count_total() >= 2, "the feed was never cut");
    let stderr = alerter.stop().await;
    assert!(stderr.contains("price feed lost"), "stderr: {stderr}");
    assert!(stderr.contains("price feed regained"), "stderr: {stderr}");
    assert!(stderr.contains("server shutdown"), "stderr: {stderr}");
}

// Real time: it drives the alerter binary, a child process whose clock paused time cannot reach.
#[tokio::test]
async fn alerts_resume_after_a_stall_detected_by_the_watchdog() {
    let prices: Vec<String> = (1..=150).map(|i| format!("{}.00000000", 100 + i)).collect();
    let sim = start_sim(vec![("BTCUSDT", prices.clone())]).await;
    let mut alerter = spawn_alerter(
        &sim,
        &[
            "--symbol",
            "BTCUSDT",
            "--above",
            "100",
            "--idle-timeout-secs",
            "1",
        ],
    );
    let mut seen = alerter.lines(3).await;
    // The socket stays open (pings go on every 20 s), but no data comes: only the idle
    // watchdog can tell the feed is dead. The path (150 updates, 6 s) outlasts the stall.
    sim.set_stalled(true);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let during = sim.connection_count_total();
    sim.set_stalled(false);
    let last = above("BTCUSDT", "100", prices.last().unwrap());
    while seen.last() != Some(&last) {
        seen.extend(alerter.lines(1).await);
    }
    assert!(
        during >= 2,
        "the watchdog never replaced the stalled connection"
    );
    // Exactly the updates the simulator delivered, in order, each once.
    let delivered: Vec<String> = sim
        .sent()
        .iter()
        .filter(|t| t.symbol == "BTCUSDT")
        .map(|t| above("BTCUSDT", "100", &t.close))
        .collect();
    assert_eq!(seen, delivered);
    let stderr = alerter.stop().await;
    assert!(stderr.contains("price feed lost"), "stderr: {stderr}");
    assert!(stderr.contains("price feed regained"), "stderr: {stderr}");
}

#[tokio::test]
async fn interactive_mode_asks_again_until_answers_are_good() {
    let sim = start_sim(vec![("BTCUSDT", path(&BTC_PATH))]).await;
    let mut alerter = spawn_alerter(&sim, &[]);
    let mut stdin = alerter.child.stdin.take().unwrap();
    stdin
        .write_all(b"NOSUCHCOIN\nbtcusdt\nabc\n-5\n43680\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    // The prompts have no newline: they precede the first alert on its line.
    let price_prompt = "Enter price to monitor BTCUSDT symbol: ";
    let prompts = format!("{SYMBOL_PROMPT}{SYMBOL_PROMPT}{}", price_prompt.repeat(3));
    let lines = alerter.lines_after_prompts(&prompts, 3).await;
    let b = "BTCUSDT";
    assert_eq!(
        lines,
        vec![
            above(b, "43680", "43680.01000000"),
            above(b, "43680", "43700.00000000"),
            above(b, "43680", "43681.00000000")
        ]
    );
    let stderr = alerter.stop().await;
    assert!(
        stderr.contains("unknown symbol NOSUCHCOIN"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("invalid price: 'abc' is not a number"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("'-5' is negative"), "stderr: {stderr}");
}

#[tokio::test]
async fn end_of_input_at_a_prompt_exits_cleanly() {
    let sim = start_sim(vec![]).await;
    let mut alerter = spawn_alerter(&sim, &[]);
    drop(alerter.child.stdin.take());
    let output = tokio::time::timeout(PATIENCE, alerter.child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let mut stdout = String::new();
    alerter.stdout.read_to_string(&mut stdout).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stdout, SYMBOL_PROMPT);
    assert!(
        stderr.contains("end of input: no symbol given; exiting"),
        "stderr: {stderr}"
    );
}

/// Runs to completion; returns (exit code, stderr).
async fn run_to_end(sim: &sim::SimHandle, args: &[&str]) -> (Option<i32>, String) {
    let alerter = spawn_alerter(sim, args);
    let output = tokio::time::timeout(PATIENCE, alerter.child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_usage_exits_2_with_one_line_naming_the_problem() {
    let sim = start_sim(vec![]).await;
    let cases: [(&[&str], &str); 4] = [
        (
            &["--symbol", "NOSUCHCOIN", "--above", "1"],
            "unknown symbol NOSUCHCOIN",
        ),
        (
            &["--symbol", "BTCUSDT", "--above", "zero"],
            "'zero' is not a number",
        ),
        (&["--above", "1"], "--above 1 needs a --symbol"),
        (&["--no-such-flag"], "--no-such-flag"),
    ];
    for (args, needle) in cases {
        let (code, stderr) = run_to_end(&sim, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr:?}");
    }
}
