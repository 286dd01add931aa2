//! Shared harness: the simulated exchange in-process, the real `recorder` binary as a child
//! process, its output captured line by line.

#![allow(dead_code)] // each test file uses part of the harness

pub mod s3;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Sim {
    pub runtime: tokio::runtime::Runtime,
    pub handle: Option<sim::SimHandle>,
}

impl Sim {
    pub fn start(config: sim::SimConfig) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime
            .block_on(sim::start("127.0.0.1:0".parse().unwrap(), config))
            .unwrap();
        Sim {
            runtime,
            handle: Some(handle),
        }
    }

    pub fn h(&self) -> &sim::SimHandle {
        self.handle.as_ref().unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.runtime.block_on(h.shutdown());
        }
    }
}

/// A running binary with its stdout and stderr lines arriving on channels.
pub struct Running {
    pub child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    pub out: Vec<String>,
    pub err: Vec<String>,
}

pub fn spawn_recorder(out_dir: &Path, ws_url: &str, extra: &[&str]) -> Running {
    spawn(recorder_command(out_dir, ws_url, extra))
}

/// The command [`spawn_recorder`] runs, to add environment variables before spawning it.
pub fn recorder_command(out_dir: &Path, ws_url: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.args(["--out-dir"]).arg(out_dir);
    if !extra.contains(&"--checkpoint-secs") {
        cmd.args(["--checkpoint-secs", "1"]);
    }
    if !extra.contains(&"--idle-timeout-secs") {
        cmd.args(["--idle-timeout-secs", "2"]);
    }
    cmd.args(extra)
        .env("BINANCE_WS_URL", ws_url)
        .env("LOG_FILE", out_dir.with_extension("log"))
        .env_remove("RECORDER_OUT_DIR")
        .env_remove("RECORDER_CHECKPOINT_SECS");
    cmd
}

pub fn spawn(mut cmd: Command) -> Running {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    Running {
        child,
        stdout,
        stderr,
        out: Vec::new(),
        err: Vec::new(),
    }
}

fn lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    /// Collects output until a stdout line satisfies `pred`; panics after `timeout`.
    pub fn wait_stdout(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump_stderr();
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .stdout
                .recv_timeout(left.min(Duration::from_millis(50)))
            {
                Ok(line) => {
                    self.out.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(e) => panic!(
                    "no matching stdout line ({e:?}); stdout: {:#?}\nstderr: {:#?}",
                    self.out, self.err
                ),
            }
        }
    }

    /// Waits until the stderr log shows `needle` `n` times.
    pub fn wait_stderr_count(&mut self, timeout: Duration, needle: &str, n: usize) {
        let deadline = Instant::now() + timeout;
        while self.err.iter().filter(|l| l.contains(needle)).count() < n {
            assert!(
                Instant::now() < deadline,
                "stderr never showed {n} x {needle:?}: {:#?}",
                self.err
            );
            self.pump_stdout();
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(50)) {
                self.err.push(line);
            }
        }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit and collects the rest of the output.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipes close at exit: read them to the end.
                while let Ok(l) = self.stdout.recv_timeout(Duration::from_secs(2)) {
                    self.out.push(l);
                }
                while let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(200)) {
                    self.err.push(l);
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "process did not exit in {timeout:?}; stdout {:#?} stderr {:#?}",
                    self.out, self.err
                );
            }
            self.pump_stdout();
            self.pump_stderr();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pump_stdout(&mut self) {
        while let Ok(l) = self.stdout.try_recv() {
            self.out.push(l);
        }
    }

    fn pump_stderr(&mut self) {
        while let Ok(l) = self.stderr.try_recv() {
            self.err.push(l);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (symbol, event_time) -> number of rows in the dataset.
pub fn dataset_keys(dir: &Path) -> HashMap<(String, i64), usize> {
    dataset_keys_of(&dataset::Dataset::local(dir))
}

/// [`dataset_keys`] of any dataset (e.g. on an object store).
pub fn dataset_keys_of(dataset: &dataset::Dataset) -> HashMap<(String, i64), usize> {
    let mut keys = HashMap::new();
    for batch in dataset.read_all().unwrap() {
        for row in dataset::rows(&batch).unwrap() {
            *keys.entry((row.symbol, row.event_time)).or_insert(0) += 1;
        }
    }
    keys
}

/// Polls `cond` every 20 ms until it holds; panics after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stalls the feed (nothing in flight), then SIGTERM: the recorder must exit 0.
pub fn stop_cleanly(sim: &Sim, rec: &mut Running) {
    sim.h().set_stalled(true);
    std::thread::sleep(Duration::from_millis(500));
    rec.signal("TERM");
    let status = rec.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
}

/// (symbol, event_time) of the events in the journal segments of the dataset directory `out`
/// as they are on disk now (a torn tail is left out, a segment deleted meanwhile skipped:
/// its rows are published), and the latest receive time the journal holds.
pub fn journal_keys(out: &Path) -> (HashSet<(String, i64)>, Option<i64>) {
    use record::journal;
    let dir = journal::dir(out);
    let mut keys = HashSet::new();
    let mut last = None;
    let mut scratch = Vec::new();
    for segment in journal::segments(&dir).unwrap_or_default() {
        let _ = journal::read_segment(&dir, segment, |r| {
            last = last.max(Some(r.received_at_ms));
            if r.conn_id != journal::GAP_CONN_ID
                && journal::decode_frame(r.frame, &mut scratch).is_ok()
            {
                keys.extend(scratch.iter().map(|t| (t.symbol.to_string(), t.event_time)));
            }
        });
    }
    (keys, last)
}

/// Every event the recorder of `out` has read, as far as its disk shows: the journal (read
/// first) and the dataset. Published files never change, so each is read once.
#[derive(Default)]
pub struct Recorded {
    files: HashMap<std::path::PathBuf, Vec<(String, i64)>>,
}

impl Recorded {
    /// The keys now; `None` if the dataset changed under the reader (try again).
    pub fn keys(&mut self, out: &Path) -> Option<HashSet<(String, i64)>> {
        let (mut keys, _) = journal_keys(out);
        let files = dataset::list_files(out).ok()?;
        // A compaction replaces parts by a merged file.
        self.files.retain(|path, _| files.contains(path));
        for path in files {
            if self.files.contains_key(&path) {
                continue;
            }
            let mut rows = Vec::new();
            for batch in dataset::read_file(&path).ok()? {
                for row in dataset::rows(&batch).ok()? {
                    rows.push((row.symbol, row.event_time));
                }
            }
            self.files.insert(path, rows);
        }
        keys.extend(self.files.values().flatten().cloned());
        Some(keys)
    }
}

/// [`Recorded::keys`] read afresh.
pub fn recorded_keys(out: &Path) -> Option<HashSet<(String, i64)>> {
    Recorded::default().keys(out)
}

/// Waits until the recorder journaling into `out` has read every event `sim` sent at a
/// time `due` accepts, however loaded the machine is; panics after `timeout` saying how many
/// are missing. Needs the journal.
pub fn wait_recorded(sim: &Sim, out: &Path, due: impl Fn(i64) -> bool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut recorded = Recorded::default();
    loop {
        // Taken again each time: a frame being sent as the feed stalled counts too.
        let due: HashSet<(String, i64)> = sim
            .h()
            .sent()
            .into_iter()
            .filter(|s| due(s.sent_at_ms))
            .map(|s| (s.symbol, s.event_time))
            .collect();
        let missing = recorded.keys(out).map(|keys| due.difference(&keys).count());
        if missing == Some(0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {timeout:?} the recorder still had not read {missing:?} of {} events sent",
            due.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stalls the feed, waits until the recorder (journaling into `out`) has read everything
/// sent at a time `due` accepts, then SIGTERM: the recorder must exit 0. Unlike
/// [`stop_cleanly`] this does not assume how long frames take to arrive.
pub fn stop_when_recorded(sim: &Sim, rec: &mut Running, out: &Path, due: impl Fn(i64) -> bool) {
    sim.h().set_stalled(true);
    wait_recorded(sim, out, due, Duration::from_secs(60));
    rec.signal("TERM");
    let status = rec.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
}

/// Distinct (symbol, event_time) the simulator sent, on any connection.
pub fn sent_keys(sim: &Sim) -> HashSet<(String, i64)> {
    sim.h()
        .sent()
        .into_iter()
        .map(|s| (s.symbol, s.event_time))
        .collect()
}

/// Every distinct event sent is in the dataset exactly once, and nothing else is.
pub fn assert_exactly_once(out: &Path, sent: &HashSet<(String, i64)>) {
    assert_exactly_once_in(&dataset::Dataset::local(out), sent);
}

/// [`assert_exactly_once`] for any dataset (e.g. on an object store).
pub fn assert_exactly_once_in(dataset: &dataset::Dataset, sent: &HashSet<(String, i64)>) {
    let keys = dataset_keys_of(dataset);
    let dups: Vec<_> = keys.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dups.is_empty(),
        "{} duplicated rows, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let missing = sent.iter().filter(|k| !keys.contains_key(*k)).count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} sent events missing",
        sent.len()
    );
    assert_eq!(keys.len(), sent.len(), "rows that were never sent");
}
