//! Shared harness: the simulated exchange in-process and the real `alerter` binary with
//! its stdout read line by line.
//!
//! These tests run on real time: tokio's paused time cannot reach the child's clock. (Nor
//! would an in-process feed on paused time do: the simulator stamps events with the wall
//! clock, so ticks a virtual 40 ms apart can share an event time, and the feed drops such
//! copies as renewal overlap.)

#![allow(dead_code)] // each test file uses part of the harness

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

pub const SYMBOL_PROMPT: &str =
    "Enter Symbol to monitor (eg: BNBBTC,ETHBTC,BTCUSDT,ETHUSDT,etc..): ";
/// Generous: a test that needs it has already failed; no timing is asserted.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn path(prices: &[&str]) -> Vec<String> {
    prices.iter().map(|p| p.to_string()).collect()
}

pub async fn start_sim(paths: Vec<(&str, Vec<String>)>) -> sim::SimHandle {
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

pub struct Alerter {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub dir: tempfile::TempDir,
}

pub fn spawn_alerter(sim: &sim::SimHandle, args: &[&str]) -> Alerter {
    spawn_alerter_env(sim, args, &[])
}

/// [`spawn_alerter`] with extra environment variables.
pub fn spawn_alerter_env(sim: &sim::SimHandle, args: &[&str], env: &[(&str, &str)]) -> Alerter {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alerter"))
        .args(args)
        .env("BINANCE_WS_URL", sim.ws_base())
        .env("BINANCE_REST_URL", sim.rest_base())
        .env("LOG_FILE", dir.path().join("app.log"))
        .env_remove("ALERTER_SYMBOL")
        // After the defaults above, so that a test can override them.
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("alerter starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    Alerter { child, stdout, dir }
}

impl Alerter {
    /// The stderr (log) lines from now on, as they come.
    pub fn stderr_lines(&mut self) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        let stderr = self.child.stderr.take().expect("stderr not taken yet");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// The next `n` stdout lines, with the `HH:MM:SS ` prefix checked and removed.
    pub async fn lines(&mut self, n: usize) -> Vec<String> {
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

    /// Interactive mode: the `prompts` (they have no newline, so they precede the first
    /// line), then `n` lines in all, each with its time prefix checked and removed.
    pub async fn lines_after_prompts(&mut self, prompts: &str, n: usize) -> Vec<String> {
        let mut first = String::new();
        self.stdout.read_line(&mut first).await.unwrap();
        let first = first
            .strip_prefix(prompts)
            .unwrap_or_else(|| panic!("prompts: {first:?}"));
        let mut lines = vec![strip_time(first.trim_end())];
        lines.extend(self.lines(n - 1).await);
        lines
    }

    /// SIGTERM; checks the goodbye line and exit code 0; returns stderr.
    pub async fn stop(mut self) -> String {
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
pub fn strip_time(line: &str) -> String {
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

pub fn above(symbol: &str, level: &str, last: &str) -> String {
    format!("{symbol} price has gone above {level} Last price: {last}")
}
pub fn below(symbol: &str, level: &str, last: &str) -> String {
    format!("{symbol} price has gone below {level} Last price: {last}")
}
pub fn quiet(symbol: &str, last: &str) -> String {
    format!("Last price for symbol {symbol} : {last}")
}

/// Waits until a line of `lines` contains `needle`; returns the lines read (that one last).
pub async fn wait_line(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    needle: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.recv())
            .await
            .unwrap_or_else(|_| panic!("no line with {needle:?} in {seen:#?}"))
            .unwrap_or_else(|| panic!("closed before {needle:?}: {seen:#?}"));
        let done = line.contains(needle);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

/// A BTCUSDT price path around the level 43680 (above, at, below, above again).
pub const BTC_PATH: [&str; 7] = [
    "43679.99000000",
    "43680.00000000",
    "43680.01000000",
    "43700.00000000",
    "43680.00000000",
    "43650.00000000",
    "43681.00000000",
];

/// An ETHBTC price path around the level 0.03.
pub const ETH_PATH: [&str; 5] = [
    "0.03100000",
    "0.02999999",
    "0.02990000",
    "0.03000000",
    "0.02900000",
];

/// Both symbols, alerting once per crossing, quiet updates shown: `BTCUSDT` above 43680,
/// `ETHBTC` below 0.03.
pub const ON_CROSS_ARGS: [&str; 10] = [
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
