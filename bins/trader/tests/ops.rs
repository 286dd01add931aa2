//! `--metrics-addr` and `--log-format json` end to end: the real trader's long-running mode
//! against the simulated CoinGecko; `/metrics` checked by `promtool`, `/health` 503 while
//! cycles fail and 200 once one succeeds again.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{scenario, Env};

const PATIENCE: Duration = Duration::from_secs(60);

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    ops::probe::get(addr, path, Duration::from_secs(10)).unwrap_or((0, String::new()))
}

/// Polls `path` until `pred` holds for its answer; returns the body.
fn wait_for(addr: SocketAddr, path: &str, what: &str, pred: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = get(addr, path);
        if pred(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never {what}: {status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn metrics_health_and_json_logs() {
    let env = Env::new(false, scenario(Some(120.0)));
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cmd = env.command();
    cmd.args(["--every-secs", "1", "--metrics-addr", &addr.to_string()])
        .args(["--log-format", "json", "--http-max-attempts", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut trader = Killed(cmd.spawn().unwrap());
    // Read stdout as it comes (a full pipe would block the trader).
    let stdout = trader.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());

    let text = wait_for(addr, "/metrics", "a successful cycle", |s, b| {
        s == 200 && b.contains("trader_cycles_total{result=\"ok\"}")
    });
    ops::probe::promtool_check_metrics(&text).unwrap();
    for needle in [
        "trader_trades_total 1",
        "trader_last_successful_cycle_timestamp_seconds",
        "trader_portfolio_value_usd 90",
        "trader_holding_pnl_percent{coin=\"ALP\"} 0",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    wait_for(addr, "/health", "healthy", |s, _| s == 200);

    // CoinGecko answers 500 (no retries): cycles fail, /health says why.
    env.sim.handle.set_http_faults(0, 1_000_000);
    let body = wait_for(addr, "/health", "unhealthy", |s, _| s == 503);
    assert!(body.contains("last cycle failed"), "{body}");
    env.sim.handle.set_http_faults(0, 0);
    wait_for(addr, "/health", "healthy again", |s, _| s == 200);
    let text = get(addr, "/metrics").1;
    assert!(
        text.contains("trader_cycles_total{result=\"api_failed\"}"),
        "{text}"
    );

    let status = std::process::Command::new("kill")
        .args(["-TERM", &trader.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(trader.0.wait().unwrap().code(), Some(0));
    let stdout = reader.join().unwrap();
    let file = env.log();
    assert!(file.lines().count() >= 5, "{file}");
    // The trader logs on stdout in the long-running mode: every line is JSON, as in the file.
    for line in stdout.lines().chain(file.lines()) {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(json["level"].is_string(), "{line}");
    }
}
