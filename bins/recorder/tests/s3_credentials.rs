//! The recorder against an S3 server that checks credentials (`sim::s3::S3Server` with
//! `S3Options::authenticate`: moto verifying every SigV4 signature against its IAM, with an
//! IAM user and access key made at start): a wrong secret or an unknown key id is exit 2
//! with one line that says the credentials were rejected, and no output ever shows the
//! secret or the key id; the right key records.

mod common;

use std::time::Duration;

use common::{spawn, stop_cleanly, wait_until, Running, Sim};
use object_store::path::Path as Key;
use sim::s3::{S3Options, S3Server};

/// A wrong secret that must never be printed.
const WRONG_SECRET: &str = "wrong-secret-never-print-0123456789abcdef";

fn market() -> sim::SimConfig {
    sim::SimConfig {
        seed: 7,
        symbols: 50,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    }
}

/// The recorder on `s3.url("p")` with `env` on top of the server's environment.
fn spawn_with(s3: &S3Server, dir: &std::path::Path, ws_url: &str, env: &[(&str, &str)]) -> Running {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_recorder"));
    cmd.arg("--out-dir")
        .arg(s3.url("p"))
        .arg("--journal-dir")
        .arg(dir.join("journal"))
        .args(["--checkpoint-secs", "1", "--idle-timeout-secs", "2"])
        .envs(s3.env())
        .envs(env.iter().copied())
        .env("BINANCE_WS_URL", ws_url)
        .env("LOG_FILE", dir.join("recorder.log"))
        .env_remove("RECORDER_OUT_DIR")
        .env_remove("RECORDER_JOURNAL_DIR")
        .env_remove("RECORDER_CHECKPOINT_SECS");
    spawn(cmd)
}

/// Every line the recorder printed, and its log file.
fn output(rec: &Running, dir: &std::path::Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("recorder.log")).unwrap_or_default();
    (rec.out.iter().chain(&rec.err).cloned())
        .chain(log.lines().map(str::to_owned))
        .collect()
}

fn assert_no_credentials(lines: &[String], s3: &S3Server) {
    for line in lines {
        for secret in [WRONG_SECRET, s3.secret_access_key(), s3.access_key_id()] {
            assert!(!line.contains(secret), "a credential in the output: {line}");
        }
    }
}

/// Runs the recorder with `env` to its exit: it must be exit 2 with exactly one line, and
/// that line must say that the credentials were rejected.
fn assert_rejected(s3: &S3Server, ws_url: &str, env: &[(&str, &str)], code: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = spawn_with(s3, dir.path(), ws_url, env);
    let status = rec.wait(Duration::from_secs(60));
    let lines = output(&rec, dir.path());
    assert_eq!(status.code(), Some(2), "{lines:#?}");
    assert_eq!(rec.out, Vec::<String>::new(), "nothing on stdout");
    assert_eq!(rec.err.len(), 1, "one line on stderr: {:#?}", rec.err);
    let line = &rec.err[0];
    assert!(
        line.contains("s3://ticks-test: credentials rejected by http://127.0.0.1:")
            && line.contains(&format!("({code})"))
            && line.contains("check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        "{line}"
    );
    assert_no_credentials(&lines, s3);
}

#[test]
fn wrong_credentials_are_exit_2_with_one_line_and_the_right_ones_record() {
    let s3 = S3Server::start_with(S3Options {
        authenticate: true,
        ..S3Options::default()
    })
    .expect("S3 test server (run scripts/setup-test-env.sh)");
    let sim = Sim::start(market());
    let ws = sim.h().ws_base();

    assert_rejected(
        &s3,
        &ws,
        &[("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)],
        "SignatureDoesNotMatch",
    );
    assert_rejected(
        &s3,
        &ws,
        &[("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")],
        "InvalidAccessKeyId",
    );
    // Nothing was written with the rejected keys (not even the lease).
    let config = dataset::location::S3Config::from_vars(s3.bucket(), |name| s3.var(name)).unwrap();
    let store = config.build().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let objects = || {
        use futures::TryStreamExt;
        let list = rt.block_on(store.list(Some(&Key::from("p"))).try_collect::<Vec<_>>());
        list.unwrap()
            .into_iter()
            .map(|m| m.location.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(objects(), Vec::<String>::new());

    // The server really checks: the right key records on it.
    let dir = tempfile::tempdir().unwrap();
    let mut rec = spawn_with(&s3, dir.path(), &ws, &[]);
    wait_until(Duration::from_secs(60), "a checkpoint object", || {
        objects()
            .iter()
            .any(|k| k.contains("/date=") && k.ends_with(".parquet"))
    });
    stop_cleanly(&sim, &mut rec);
    assert!(objects().contains(&"p/_lock".to_owned()), "{:?}", objects());
    assert_no_credentials(&output(&rec, dir.path()), &s3);
}
