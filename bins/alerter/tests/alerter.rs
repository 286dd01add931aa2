//! The real `alerter` binary against the simulated exchange, started in-process.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const SYMBOL_PROMPT: &str = "Enter Symbol to monitor (eg: BNBBTC,ETHBTC,BTCUSDT,ETHUSDT,etc..): ";
/// Generous: a test that needs it has already failed; no timing is asserted.
const PATIENCE: Duration = Duration::from_secs(60);

fn path(prices: &[&str]) -> Vec<String> {
    prices.iter().map(|p| p.to_string()).collect()
}

async fn start_sim(paths: Vec<(&str, Vec<String>)>) -> sim::SimHandle {
    let config = sim::SimConfig {
        interval: Duration::from_millis(40),
        symbols: 50,
        price_paths: paths.into_iter().map(|(s, p)| (s.to_owned(), p)).collect(),
        ..sim::SimConfig::default()
    };
    sim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("sim starts")
}

struct Alerter {
    child: Child,
    stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
}

fn spawn_alerter(sim: &sim::SimHandle, args: &[&str]) -> Alerter {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alerter"))
        .args(args)
        .env("BINANCE_WS_URL", sim.ws_base())
        .env("BINANCE_REST_URL", sim.rest_base())
        .env("LOG_FILE", dir.path().join("app.log"))
        .env_remove("ALERTER_SYMBOL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("alerter starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    Alerter {
        child,
        stdout,
        _dir: dir,
    }
}

impl Alerter {
    /// The next `n` stdout lines, with the `HH:MM:SS ` prefix checked and removed.
    async fn lines(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let mut line = String::new();
            let read = tokio::time::timeout(PATIENCE, self.stdout.read_line(&mut line))
                .await
                .unwrap_or_else(|_| panic!("only {} of {n} lines came: {out:?}", out.len()))
                .unwrap();
            assert!(read > 0, "stdout closed after {out:?}");
            out.push(strip_time(line.trim_end_matches('\n')));
        }
        out
    }

    /// SIGTERM; checks the goodbye line and exit code 0; returns stderr.
    async fn stop(mut self) -> String {
        let pid = self.child.id().expect("still running").to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).await.unwrap();
        assert!(
            rest.ends_with("Received exit, exiting\n"),
            "stdout after SIGTERM: {rest:?}"
        );
        let output = tokio::time::timeout(PATIENCE, self.child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
        stderr
    }
}

/// `HH:MM:SS rest` -> `rest`, checking the zero-padded time.
fn strip_time(line: &str) -> String {
    let (time, rest) = line
        .split_at_checked(9)
        .unwrap_or_else(|| panic!("short line {line:?}"));
    let b = time.as_bytes();
    let digits = [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit());
    assert!(
        digits && b[2] == b':' && b[5] == b':' && b[8] == b' ',
        "bad time in {line:?}"
    );
    rest.to_owned()
}

fn above(symbol: &str, level: &str, last: &str) -> String {
    format!("{symbol} price has gone above {level} Last price: {last}")
}
fn below(symbol: &str, level: &str, last: &str) -> String {
    format!("{symbol} price has gone below {level} Last price: {last}")
}
fn quiet(symbol: &str, last: &str) -> String {
    format!("Last price for symbol {symbol} : {last}")
}

const BTC_PATH: [&str; 7] = [
    "43679.99000000",
    "43680.00000000",
    "43680.01000000",
    "43700.00000000",
    "43680.00000000",
    "43650.00000000",
    "43681.00000000",
];

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
    let eth = [
        "0.03100000",
        "0.02999999",
        "0.02990000",
        "0.03000000",
        "0.02900000",
    ];
    let sim = start_sim(vec![("BTCUSDT", path(&BTC_PATH)), ("ETHBTC", path(&eth))]).await;
    let args = [
        "--symbol",
        "BTCUSDT",
        "--above",
        "43680",
        "--symbol",
        "ethbtc",
        "--below",
        "0.03",
        "--on-cross",
        "-v",
    ];
    let mut alerter = spawn_alerter(&sim, &args);
    let lines = alerter.lines(BTC_PATH.len() + eth.len()).await;
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
    let mut first = String::new();
    alerter.stdout.read_line(&mut first).await.unwrap();
    let first = first
        .strip_prefix(&prompts)
        .unwrap_or_else(|| panic!("prompts: {first:?}"));
    let mut lines = vec![strip_time(first.trim_end())];
    lines.extend(alerter.lines(2).await);
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
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, SYMBOL_PROMPT);
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
