//! A flood of idle connections to `--metrics-addr` must not stop the recording: the real
//! recorder, with few file descriptors (as under systemd's default of 1,024, scaled down),
//! against the simulator, while the test keeps hundreds of connections open on its metrics
//! port and opens them again as the server closes them.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{recorder_command, spawn, wait_until, Running, Sim};

/// The recorder's descriptor limit: room for its own files and sockets, not for the flood.
const NOFILE: usize = 128;
/// Idle connections the test keeps open: well over [`NOFILE`].
const FLOOD: usize = 3 * NOFILE;

/// The address the recorder logged it serves on (it was given port 0).
fn served_addr(rec: &mut Running) -> SocketAddr {
    rec.wait_stderr_count(Duration::from_secs(30), "serving /metrics and /health", 1);
    let line = rec
        .err
        .iter()
        .find(|l| l.contains("serving /metrics and /health"))
        .unwrap();
    line.rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// `cmd` run under `prlimit --nofile=N:N` (the same process: prlimit execs it).
fn with_nofile(cmd: &Command, n: usize) -> Command {
    let mut wrapped = Command::new("prlimit");
    wrapped
        .arg(format!("--nofile={n}:{n}"))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// Keeps [`FLOOD`] connections to `addr` open, sending nothing, until dropped: each one
/// the server closes is opened again.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    fn start(addr: SocketAddr) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut conns: Vec<Option<TcpStream>> = (0..FLOOD).map(|_| None).collect();
                while !stop.load(Ordering::Relaxed) {
                    for slot in &mut conns {
                        if slot.as_mut().is_some_and(closed) {
                            *slot = None;
                        }
                        if slot.is_none() {
                            *slot = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                                .and_then(|c| c.set_nonblocking(true).map(|()| c))
                                .ok();
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Flood {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `true` when the server has closed (or reset) the non-blocking `conn`.
fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    match conn.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// The value of the sample named exactly `name` (no labels).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_flood_of_idle_metrics_connections_does_not_stop_the_recording() {
    let sim = Sim::start(sim::SimConfig {
        seed: 20,
        symbols: 50,
        interval: Duration::from_millis(50),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let cmd = recorder_command(&out, &sim.h().ws_base(), &["--metrics-addr", "127.0.0.1:0"]);
    let mut rec = spawn(with_nofile(&cmd, NOFILE));
    let addr = served_addr(&mut rec);
    let files = || -> HashSet<_> {
        dataset::list_files(&out)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    wait_until(Duration::from_secs(60), "a first checkpoint", || {
        !files().is_empty()
    });

    // The flood: checkpoints still write new files while it lasts.
    let flood = Flood::start(addr);
    let before = files();
    let mut new = HashSet::new();
    wait_until(
        Duration::from_secs(90),
        "three checkpoints during the flood",
        || {
            // A compaction may merge parts: count every new file seen.
            new.extend(files().difference(&before).cloned());
            new.len() >= 3
        },
    );
    drop(flood);

    // Once the flood is gone, /metrics answers, and no checkpoint ever failed.
    let mut text = String::new();
    wait_until(
        Duration::from_secs(60),
        "/metrics answering",
        || match ops::probe::get(addr, "/metrics", Duration::from_secs(5)) {
            Ok((200, body)) => {
                text = body;
                true
            }
            _ => false,
        },
    );
    assert!(
        sample(&text, "recorder_rows_written_total").unwrap_or(0.0) > 0.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "recorder_checkpoint_failures_total").unwrap_or(0.0),
        0.0,
        "{text}"
    );

    // The clean stop: exit 0 and the summary.
    rec.signal("INT");
    let status = rec.wait(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
    assert!(
        rec.out
            .iter()
            .any(|l| l.starts_with("Total no. of symbol data saved in file '")),
        "stdout: {:#?}",
        rec.out
    );
    assert!(
        rec.err
            .iter()
            .any(|l| l.contains("connections open; closing new ones")),
        "the limit was reached and said: {:#?}",
        rec.err
    );
}
