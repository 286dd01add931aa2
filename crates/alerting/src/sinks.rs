//! Alert destinations besides stdout: `--exec` and `--webhook`.
//!
//! Each destination has its own worker task fed through a bounded queue, so a slow command
//! or a dead web server never delays the alert lines: when a queue is full the alert is
//! dropped for that destination (and logged). Every failure is logged and forgotten; the
//! webhook URL, which often holds a secret token, is never logged.
//!
//! An `--exec` command is bounded like its queue, so that it cannot take the alerter down
//! with it:
//!
//! * its stdout and stderr are captured, never inherited (the alerter's stdout holds the
//!   alert lines and nothing else): the first [`OUTPUT_LOGGED`] bytes of each are logged, at
//!   info (stdout) and warn (stderr), as one escaped line, and the rest is read, counted and
//!   said as `… N bytes more`;
//! * it runs in a process group of its own, which is killed (`SIGKILL`) when its run ends:
//!   when `sh` has exited and its output is closed, when it passes its timeout (30 s), and
//!   when the alerter exits (dropping [`Sinks`] or the runtime drops a run in flight). No
//!   process it started outlives its run, unless it left the group on purpose (`setsid`).

use std::time::Duration;

use alert::Alert;
use chrono::{DateTime, Local};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Alerts waiting per destination before new ones are dropped.
pub const QUEUE: usize = 256;
/// Bytes of an `--exec` command's stdout, and as many of its stderr, logged per run.
pub const OUTPUT_LOGGED: usize = 4 * 1024;
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// One alert with the time it fired.
#[derive(Debug, Clone)]
pub struct Fired {
    /// The alert.
    pub alert: Alert,
    /// When it fired (local time).
    pub at: DateTime<Local>,
}

impl Fired {
    /// The environment given to `--exec`.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("ALERT_SYMBOL", self.alert.symbol.to_string()),
            ("ALERT_DIRECTION", self.alert.direction.to_string()),
            ("ALERT_LEVEL", self.alert.level.to_string()),
            ("ALERT_PRICE", self.alert.last.clone()),
            ("ALERT_TIME", self.time()),
        ]
    }

    /// The JSON body POSTed to `--webhook`; prices are strings so that they stay exact.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "symbol": self.alert.symbol.as_str(),
            "direction": self.alert.direction.as_str(),
            "level": self.alert.level.to_string(),
            "price": self.alert.last,
            "time": self.time(),
        })
    }

    fn time(&self) -> String {
        self.at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    }
}

/// The running destinations; dropping it stops their workers (a command in flight is
/// killed with its process group).
#[derive(Debug, Default)]
pub struct Sinks {
    queues: Vec<(&'static str, mpsc::Sender<Fired>)>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for Sinks {
    fn drop(&mut self) {
        for worker in &self.workers {
            worker.abort();
        }
    }
}

impl Sinks {
    /// Starts one worker per configured destination (none: a no-op).
    ///
    /// # Errors
    ///
    /// reqwest's error when the `--webhook` HTTP client cannot be built (TLS set-up); no
    /// destination is contacted here.
    pub fn start(exec: Option<String>, webhook: Option<String>) -> Result<Self, reqwest::Error> {
        let (mut queues, mut workers) = (Vec::new(), Vec::new());
        if let Some(cmd) = exec {
            let (tx, rx) = mpsc::channel(QUEUE);
            workers.push(tokio::spawn(run_exec(cmd, EXEC_TIMEOUT, rx)));
            queues.push(("--exec", tx));
        }
        if let Some(url) = webhook {
            let client = reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .build()?;
            let (tx, rx) = mpsc::channel(QUEUE);
            workers.push(tokio::spawn(run_webhook(client, url, rx)));
            queues.push(("--webhook", tx));
        }
        Ok(Sinks { queues, workers })
    }

    /// `true` when there is nowhere to send alerts.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Hands `fired` to every destination without waiting.
    pub fn push(&self, fired: &Fired) {
        for (name, tx) in &self.queues {
            if let Err(e) = tx.try_send(fired.clone()) {
                crate::metrics::sink_failed(name);
                log::warn!("{name}: alert for {} dropped ({e})", fired.alert.symbol);
            }
        }
    }
}

async fn run_exec(cmd: String, timeout: Duration, mut rx: mpsc::Receiver<Fired>) {
    while let Some(fired) = rx.recv().await {
        if !exec(&cmd, &fired, timeout).await {
            crate::metrics::sink_failed("exec");
        }
    }
}

/// Runs `cmd` once for `fired` (see the module docs); `false` when it failed, could not be
/// run, or was killed at its `timeout`.
async fn exec(cmd: &str, fired: &Fired, timeout: Duration) -> bool {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(fired.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            log::warn!("--exec: cannot run sh: {e}");
            return false;
        }
    };
    // `process_group(0)`: the group's id is the command's pid, known until it is reaped.
    let _group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(|pid| Group(nix::unistd::Pid::from_raw(pid)));
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Output::default(), Output::default());
    let run = async { tokio::join!(child.wait(), out.read(stdout), err.read(stderr)).0 };
    // The run ends when `sh` has exited and its output is closed, or at the timeout; then
    // (or if the alerter drops this future) `_group` is dropped: the group is killed.
    let ended = tokio::time::timeout(timeout, run).await;
    out.log("stdout", log::Level::Info);
    err.log("stderr", log::Level::Warn);
    match ended {
        Ok(Ok(status)) if status.success() => true,
        Ok(Ok(status)) => {
            log::warn!("--exec: command failed ({status})");
            false
        }
        Ok(Err(e)) => {
            log::warn!("--exec: cannot wait for sh: {e}");
            false
        }
        Err(_) => {
            log::warn!(
                "--exec: command killed after {}s, with its process group",
                timeout.as_secs()
            );
            false
        }
    }
}

/// What a command wrote on one of its pipes: the first [`OUTPUT_LOGGED`] bytes and how many
/// came after them.
#[derive(Default)]
struct Output {
    head: Vec<u8>,
    more: u64,
}

impl Output {
    /// Reads `pipe` to its end (or until this future is dropped).
    async fn read(&mut self, pipe: Option<impl AsyncRead + Unpin>) {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk).await {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) => {
                    log::warn!("--exec: cannot read the command's output: {e}");
                    return;
                }
            };
            let keep = n.min(OUTPUT_LOGGED - self.head.len());
            self.head.extend_from_slice(&chunk[..keep]);
            self.more += (n - keep) as u64;
        }
    }

    /// Logs what was read at `level`, escaped (a command cannot forge log lines); nothing if
    /// nothing was.
    fn log(&self, name: &str, level: log::Level) {
        if self.head.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.head);
        let text = text.trim_end_matches('\n');
        match self.more {
            0 => log::log!(level, "--exec {name}: {text:?}"),
            more => log::log!(level, "--exec {name}: {text:?}… {more} bytes more"),
        }
    }
}

/// A command's process group, killed with `SIGKILL` when dropped: nothing the command
/// started outlives its run.
///
/// Linux does not give a new process a pid that is still some group's id, so while any
/// member lives the signal reaches this group only; once none does it is `ESRCH` (unless,
/// in the moment since, the pid space wrapped around to that very number).
struct Group(nix::unistd::Pid);

impl Drop for Group {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        match killpg(self.0, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => log::warn!("--exec: cannot kill process group {}: {e}", self.0),
        }
    }
}

async fn run_webhook(client: reqwest::Client, url: String, mut rx: mpsc::Receiver<Fired>) {
    while let Some(fired) = rx.recv().await {
        match client.post(&url).json(&fired.json()).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                crate::metrics::sink_failed("webhook");
                log::warn!("--webhook: HTTP {}", r.status())
            }
            // Webhook URLs often carry a secret token (Slack, Discord): never log them.
            Err(e) => {
                crate::metrics::sink_failed("webhook");
                log::warn!(
                    "--webhook: POST failed: {}",
                    logging::error_chain(&e.without_url())
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert::{Level, Mode, Update, Watcher};

    fn fired() -> Fired {
        let level = Level::parse(
            "BTCUSDT".parse().unwrap(),
            alert::Direction::Below,
            "43680.50",
        )
        .unwrap();
        let mut w = Watcher::new([level], Mode::EveryUpdate);
        let Update::Alerts(mut a) = w.on_update("BTCUSDT", "43000.10000000").unwrap() else {
            panic!("43000.1 is below 43680.5");
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T14:07:02.5+00:00").unwrap();
        Fired {
            alert: a.remove(0),
            at: at.with_timezone(&Local),
        }
    }

    #[test]
    fn payloads_keep_prices_exact() {
        let f = fired();
        let env: Vec<(&str, String)> = f
            .env()
            .into_iter()
            .filter(|(k, _)| *k != "ALERT_TIME")
            .collect();
        assert_eq!(
            env,
            vec![
                ("ALERT_SYMBOL", "BTCUSDT".to_owned()),
                ("ALERT_DIRECTION", "below".to_owned()),
                ("ALERT_LEVEL", "43680.5".to_owned()),
                ("ALERT_PRICE", "43000.10000000".to_owned()),
            ]
        );
        let json = f.json();
        assert_eq!(json["price"], "43000.10000000");
        assert_eq!(json["level"], "43680.5");
        let time = chrono::DateTime::parse_from_rfc3339(json["time"].as_str().unwrap()).unwrap();
        assert_eq!(time, f.at);
    }

    #[tokio::test]
    async fn exec_gets_the_alert_and_failures_do_not_stop_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("alerts.txt");
        let cmd = format!(
            "echo \"$ALERT_SYMBOL $ALERT_DIRECTION $ALERT_LEVEL $ALERT_PRICE\" >> '{}'; exit 3",
            out.display()
        );
        let sinks = Sinks::start(Some(cmd), Some("http://127.0.0.1:9/unreachable".into())).unwrap();
        sinks.push(&fired());
        sinks.push(&fired());
        // The command exits 3 each time; the second alert must still be run.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.lines().count() == 2 {
                assert_eq!(text, "BTCUSDT below 43680.5 43000.10000000\n".repeat(2));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "exec ran {text:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn output_is_read_to_its_end_and_kept_bounded() {
        use tokio::io::AsyncReadExt;
        let mut out = Output::default();
        out.read(Some(tokio::io::repeat(b'y').take(5_000_000)))
            .await;
        assert_eq!(out.head.len(), OUTPUT_LOGGED);
        assert_eq!(out.more, 5_000_000 - OUTPUT_LOGGED as u64);
    }

    /// Runs `script` (in `dir`, with its background job's pid in `dir/bg.pid`) through
    /// [`exec`] with `timeout`; returns what `exec` said and that pid.
    async fn run_leaving_a_child(script: &str, timeout: Duration) -> (bool, u32) {
        let dir = tempfile::tempdir().unwrap();
        let cmd = format!(
            "cd '{}' || exit 9; sleep 300 >/dev/null 2>&1 & echo $! > bg.tmp && mv bg.tmp bg.pid; {script}",
            dir.path().display()
        );
        let ran = exec(&cmd, &fired(), timeout).await;
        let pid = std::fs::read_to_string(dir.path().join("bg.pid")).expect("the pid");
        (ran, pid.trim().parse().unwrap())
    }

    /// Waits until `pid` is gone (or a zombie: dead, waiting to be reaped).
    async fn wait_dead(pid: u32) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            if state.is_none_or(|s| s.starts_with('Z')) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pid} lives: {stat}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed_with_its_children() {
        let (ran, pid) = run_leaving_a_child("sleep 300", Duration::from_secs(5)).await;
        assert!(!ran);
        wait_dead(pid).await;
    }

    #[tokio::test]
    async fn what_a_command_leaves_running_is_killed_when_it_exits() {
        let (ran, pid) = run_leaving_a_child("true", Duration::from_secs(60)).await;
        assert!(ran);
        wait_dead(pid).await;
    }
}
