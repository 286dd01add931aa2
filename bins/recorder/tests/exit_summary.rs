//! The real binary's shutdown summary (the contract's line, then what this run wrote) and
//! its boolean environment variables.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{dataset_keys, spawn, stop_cleanly, wait_until, Running, Sim};

const CONTRACT: &str = "Total no. of symbol data saved in file '";

/// The tick files under `dir` (not the gaps dataset, not the journal).
fn tick_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && !name.starts_with('_') {
                todo.push(path);
            } else if name.ends_with(".parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn recorder(out: &Path, ws_url: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.arg("--out-dir")
        .arg(out)
        .args(["--checkpoint-secs", "1", "--idle-timeout-secs", "2"])
        .env("BINANCE_WS_URL", ws_url)
        .env("LOG_FILE", out.with_extension("log"))
        .env_remove("RECORDER_OUT_DIR")
        .env_remove("RECORDER_CHECKPOINT_SECS")
        .env_remove("RECORDER_STATUS")
        .env_remove("RECORDER_NO_JOURNAL")
        .envs(env.iter().copied());
    cmd
}

/// The lines after `Received exit, exiting`.
fn after_exit(rec: &Running) -> Vec<String> {
    let at = rec
        .out
        .iter()
        .position(|l| l == "Received exit, exiting")
        .unwrap_or_else(|| panic!("no exit line: {:#?}", rec.out));
    rec.out[at + 1..].to_vec()
}

#[test]
fn the_summary_names_the_last_file_then_counts_the_files_and_rows_of_the_run() {
    let sim = Sim::start(sim::SimConfig {
        symbols: 40,
        interval: Duration::from_millis(50),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn(recorder(&out, &sim.h().ws_base(), &[]));
    wait_until(Duration::from_secs(30), "two checkpoint files", || {
        tick_files(&out).len() >= 2
    });
    stop_cleanly(&sim, &mut rec);

    let files = tick_files(&out);
    let rows: usize = dataset_keys(&out).values().sum();
    let symbols = sim
        .h()
        .sent()
        .into_iter()
        .map(|t| t.symbol)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let tail = after_exit(&rec);
    assert_eq!(tail[0], "saving data", "{tail:#?}");
    // The contract's line, unchanged: the last file, and N = the run's symbols.
    let last = files.last().unwrap();
    assert_eq!(
        tail[1],
        format!("{CONTRACT}{}': {symbols}", last.display()),
        "{tail:#?}"
    );
    // Then what N is not: the file's rows. The run's files and rows, in one line.
    assert_eq!(
        tail[2],
        format!(
            "Saved in this run: {} files, {rows} rows of {symbols} symbols, in '{}'",
            files.len(),
            out.display()
        ),
        "{tail:#?}"
    );
    assert!(tail[3].starts_with("Coverage: "), "{tail:#?}");
}

#[test]
fn with_nothing_written_the_summary_says_so_and_names_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    // Nothing listens on port 1: no data ever arrives.
    let mut rec = spawn(recorder(&out, "ws://127.0.0.1:1", &[]));
    rec.wait_stdout(Duration::from_secs(30), |l| {
        l.contains("Total Symbols recorded: 0")
    });
    rec.signal("TERM");
    let status = rec.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
    let tail = after_exit(&rec);
    assert!(
        !tail.iter().any(|l| l.starts_with(CONTRACT)),
        "a directory named as a file: {tail:#?}"
    );
    assert_eq!(
        tail[1],
        format!(
            "No symbol data saved: nothing was recorded in this run (dataset '{}')",
            out.display()
        ),
        "{tail:#?}"
    );
    assert!(tick_files(&out).is_empty());
}

#[test]
fn boolean_variables_take_1_yes_and_0_false_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for (value_on, value_off) in [("1", "0"), ("yes", "false")] {
        // On: the extended status line, and no journal directory.
        let out = dir.path().join(format!("on-{value_on}"));
        let env = [
            ("RECORDER_STATUS", value_on),
            ("RECORDER_NO_JOURNAL", value_on),
        ];
        let mut rec = spawn(recorder(&out, "ws://127.0.0.1:1", &env));
        let line = rec.wait_stdout(Duration::from_secs(30), |l| {
            l.contains("Total Symbols recorded:")
        });
        assert!(line.contains(" | events "), "{value_on}: {line}");
        // `_journal/` may hold the dataset lock; no segment may be written.
        let segments: Vec<_> = std::fs::read_dir(out.join("_journal"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            segments.iter().all(|n| n == ".lock"),
            "{value_on}: journal written: {segments:?}"
        );
        rec.signal("TERM");
        assert_eq!(rec.wait(Duration::from_secs(30)).code(), Some(0));

        // Off: the plain status line, and the journal.
        let out = dir.path().join(format!("off-{value_off}"));
        let env = [
            ("RECORDER_STATUS", value_off),
            ("RECORDER_NO_JOURNAL", value_off),
        ];
        let mut rec = spawn(recorder(&out, "ws://127.0.0.1:1", &env));
        let line = rec.wait_stdout(Duration::from_secs(30), |l| {
            l.contains("Total Symbols recorded:")
        });
        assert!(!line.contains(" | events "), "{value_off}: {line}");
        let has_segment = std::fs::read_dir(out.join("_journal"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "wal"))
            })
            .unwrap_or(false);
        assert!(has_segment, "{value_off}: no journal segment");
        rec.signal("TERM");
        assert_eq!(rec.wait(Duration::from_secs(30)).code(), Some(0));
    }
    for var in ["RECORDER_STATUS", "RECORDER_NO_JOURNAL"] {
        let out = dir.path().join("bad");
        let output = recorder(&out, "ws://127.0.0.1:1", &[(var, "maybe")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{var}: {stderr:?}");
        assert!(
            stderr.contains(&format!("{var}='maybe'")),
            "{var}: {stderr:?}"
        );
    }
}
