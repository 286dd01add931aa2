//! `--exec` commands within bounds, end to end: the real `alerter` against the simulated
//! exchange. A chatty command's output is logged, bounded, and never reaches the alert
//! lines on stdout; a command's children die with it, at its timeout and at the alerter's
//! exit.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// Watch BTCUSDT above 43680, printing every update (so the test knows the path is done).
const WATCH: [&str; 5] = ["--symbol", "BTCUSDT", "--above", "43680", "-v"];

/// Two alerts: at 43680.01 and at 43700.
const PATH: [&str; 5] = [
    "43679.99000000",
    "43680.01000000",
    "43680.00000000",
    "43700.00000000",
    "43650.00000000",
];

/// What a command writes on each run.
const CHATTER: u64 = 5_000_000;

#[tokio::test]
async fn a_chatty_command_is_logged_bounded_and_stays_off_stdout() {
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    // 5 MB on stdout and a line on stderr, each run.
    let cmd = format!("yes | head -c {CHATTER}; echo 'oops on stderr' >&2");
    let mut alerter = spawn_alerter(&sim, &[&WATCH[..], &["--exec", &cmd]].concat());
    let mut log = alerter.stderr_lines();
    let lines = alerter.lines(PATH.len()).await;
    assert_eq!(lines[1], above("BTCUSDT", "43680", "43680.01000000"));
    assert_eq!(lines[3], above("BTCUSDT", "43680", "43700.00000000"));

    // Both runs are logged: the first 4 KiB of stdout, then how much more there was.
    let more = format!("… {} bytes more", CHATTER - 4096);
    let mut seen = wait_line(&mut log, &more).await;
    seen.extend(wait_line(&mut log, &more).await);
    seen.extend(wait_line(&mut log, "oops on stderr").await);
    let said: Vec<&String> = seen.iter().filter(|l| l.contains(&more)).collect();
    assert_eq!(said.len(), 2, "{seen:#?}");
    for line in said {
        assert!(line.contains("--exec stdout: \"y\\ny\\ny"), "{line:.200}");
        assert!(
            line.len() < 3 * 4096,
            "a bounded line: {} bytes",
            line.len()
        );
    }

    // stdout holds the alert lines and the goodbye, nothing of the command's.
    let pid = alerter.child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    alerter.stdout.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "Received exit, exiting\n");
    let status = tokio::time::timeout(PATIENCE, alerter.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // The log file is bounded too: two runs' 4 KiB heads (escaped), not 10 MB.
    let file = std::fs::metadata(alerter.dir.path().join("app.log"))
        .unwrap()
        .len();
    assert!(file < 64 * 1024, "app.log is {file} bytes");
}

#[tokio::test]
async fn a_command_s_children_die_at_its_timeout_and_at_the_alerter_s_exit() {
    let sim = start_sim(vec![("BTCUSDT", path(&PATH))]).await;
    let dir = tempfile::tempdir().unwrap();
    // Each run leaves a grandchild sleeping in the background and says its pid (written
    // whole: to a temporary name, then renamed), then sleeps past the 30 s timeout.
    let cmd = format!(
        "cd '{}' && sh -c 'sleep 300 & echo $! > $ALERT_PRICE.tmp && mv $ALERT_PRICE.tmp $ALERT_PRICE.pid; sleep 300'",
        dir.path().display()
    );
    let mut alerter = spawn_alerter(&sim, &[&WATCH[..], &["--exec", &cmd]].concat());
    let mut log = alerter.stderr_lines();
    alerter.lines(PATH.len()).await;
    let own_group = stat(std::process::id()).expect("this process").1;

    // The first run: killed at its timeout with its whole process group.
    let first = pid_in(dir.path(), "43680.01000000").await;
    let (state, group) = stat(first).expect("the grandchild runs");
    assert_ne!(state, 'Z');
    assert_ne!(
        group, own_group,
        "the command has a process group of its own"
    );
    wait_line(&mut log, "--exec: command killed after 30s").await;
    wait_gone(group).await;

    // The second run (queued meanwhile) is under way when the alerter stops.
    let second = pid_in(dir.path(), "43700.00000000").await;
    let (_, group) = stat(second).expect("the grandchild runs");
    assert_ne!(group, own_group);
    let pid = alerter.child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(PATIENCE, alerter.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    wait_gone(group).await;
}

/// The pid a run wrote to `dir/<price>.pid`.
async fn pid_in(dir: &Path, price: &str) -> u32 {
    let file = dir.join(format!("{price}.pid"));
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            return text.trim().parse().expect("a pid");
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The state and process group of `pid` (from `/proc/PID/stat`), or `None` when it is gone.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let group = fields.nth(1)?.parse().ok()?;
    Some((state, group))
}

/// Waits until no live process (zombies do not count: they wait for a parent to reap them)
/// is in `group`.
async fn wait_gone(group: u32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let alive: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|&pid| stat(pid).is_some_and(|(state, g)| g == group && state != 'Z'))
            .collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of group {group} still alive: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
