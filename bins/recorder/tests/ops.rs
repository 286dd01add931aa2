//! `--metrics-addr` and `--log-format json` end to end: the real recorder against the
//! simulator, scraped by `ops::probe`, checked by `promtool` and by a real Prometheus.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{dataset_keys, spawn_recorder, wait_until, Running, Sim};

const T: Duration = Duration::from_secs(10);

/// The address the recorder logged it serves on (it was given port 0).
fn served_addr(rec: &mut Running) -> SocketAddr {
    rec.wait_stderr_count(Duration::from_secs(30), "serving /metrics and /health", 1);
    let line = rec
        .err
        .iter()
        .find(|l| l.contains("serving /metrics and /health"))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    let message = json["message"].as_str().unwrap();
    message
        .rsplit("http://")
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {message}"))
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    ops::probe::get(addr, path, T).unwrap()
}

/// The value of the sample named exactly `name` (no labels).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn health(addr: SocketAddr) -> (u16, serde_json::Value) {
    let (status, body) = get(addr, "/health");
    (status, serde_json::from_str(&body).expect("health is JSON"))
}

#[test]
fn metrics_health_and_json_logs_follow_the_feed() {
    let sim = Sim::start(sim::SimConfig {
        seed: 11,
        symbols: 300,
        interval: Duration::from_millis(50),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(
        &out,
        &sim.h().ws_base(),
        &["--metrics-addr", "127.0.0.1:0", "--log-format", "json"],
    );
    let addr = served_addr(&mut rec);

    // Events flow: the counters move and Prometheus' own parser accepts the exposition.
    wait_until(Duration::from_secs(30), "events recorded", || {
        sample(&get(addr, "/metrics").1, "recorder_events_recorded_total").unwrap_or(0.0) > 0.0
    });
    wait_until(Duration::from_secs(30), "a checkpoint", || {
        sample(&get(addr, "/metrics").1, "recorder_rows_written_total").unwrap_or(0.0) > 0.0
    });
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    ops::probe::promtool_check_metrics(&text).unwrap();
    for name in [
        "recorder_frames_received_total",
        "recorder_events_received_total",
        "recorder_feed_up 1",
        "recorder_connection_up{connection=\"0\"} 1",
        "recorder_checkpoint_duration_seconds_bucket",
        "recorder_journal_sync_duration_seconds_count",
        "recorder_bytes_written_total",
        "recorder_symbols_seen",
        "recorder_last_event_age_seconds",
        "recorder_gaps_total{reason=\"startup\"} 1",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(!text.contains("symbol="), "no per-symbol labels");
    let (status, body) = health(addr);
    assert_eq!((status, &body["status"]), (200, &"ok".into()), "{body}");

    // A real Prometheus scrapes it and answers a query with the recorder's series.
    let prometheus = Prometheus::start(dir.path(), addr);
    wait_until(Duration::from_secs(90), "Prometheus has the series", || {
        prometheus
            .query("recorder_events_recorded_total")
            .is_some_and(|v| v > 0.0)
    });
    drop(prometheus);

    // The feed stalls: /health turns 503 with the reason; it comes back when the feed does.
    sim.h().set_stalled(true);
    wait_until(Duration::from_secs(30), "unhealthy while stalled", || {
        health(addr).0 == 503
    });
    let (_, body) = health(addr);
    assert_eq!(body["status"], "unhealthy");
    assert!(
        body["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no event for"),
        "{body}"
    );
    sim.h().set_stalled(false);
    wait_until(Duration::from_secs(30), "healthy again", || {
        health(addr).0 == 200
    });

    // Stall again (nothing in flight), then stop: the counter is exactly the rows saved.
    sim.h().set_stalled(true);
    wait_until(Duration::from_secs(30), "stalled again", || {
        health(addr).0 == 503
    });
    let recorded = sample(&get(addr, "/metrics").1, "recorder_events_recorded_total").unwrap();
    rec.signal("INT");
    let status = rec.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
    let rows: usize = dataset_keys(&out).values().sum();
    assert_eq!(rows as f64, recorded, "rows in the dataset vs the counter");

    // Every log line, on stderr and in the file, is a JSON object.
    let file = std::fs::read_to_string(out.with_extension("log")).unwrap();
    assert!(file.lines().count() >= 3, "{file}");
    for line in rec.err.iter().map(String::as_str).chain(file.lines()) {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            json["time"].is_string() && json["level"].is_string(),
            "{line}"
        );
    }
}

/// Debian's `prometheus` on a free port with a fresh data directory, scraping `target`
/// every second; killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    fn start(dir: &Path, target: SocketAddr) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: recorder\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus runs (scripts/setup-test-env.sh installs it)");
        Prometheus { child, addr }
    }

    /// The value of the first series `expr` returns, if any yet.
    fn query(&self, expr: &str) -> Option<f64> {
        let (status, body) =
            ops::probe::get(self.addr, &format!("/api/v1/query?query={expr}"), T).ok()?;
        if status != 200 {
            return None;
        }
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let first = &json["data"]["result"][0];
        if first["metric"]["job"] != "recorder" {
            return None;
        }
        first["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
