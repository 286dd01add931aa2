//! End to end: configuration errors, exit codes, `--help`, and the hourly daemon's
//! signal handling, with the real binary.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn bad_configuration_exits_2_without_secrets() {
    let env = Env::new(false, scenario(Some(1.0)));
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["--once", "--database-url", "oracle://bot:hunter2@db/x"])
        .current_dir(env.dir.path())
        .env("LOG_FILE", env.log_path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("DATABASE_URL") && !stderr.contains("hunter2"),
        "{stderr}"
    );

    let out = env.trader(&["--once", "--coingecko-api-url", "not a url"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.trader(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Usage errors are one line on stderr, exit 2 (before: clap's error, usage and hint).
#[test]
fn usage_errors_are_one_line() {
    let env = Env::new(false, scenario(Some(1.0)));
    for args in [
        &["--bogus"][..],
        &["--every-secs", "0"],
        &["--once", "--every-secs", "5"],
        &["--fee-bps=-1", "--once"],
        &["--portfolio", "", "portfolio"],
        &["db"],
        &["db", "nope"],
        &["trades", "--json", "extra"],
    ] {
        let stderr = one_line_failure(&env.trader(args), 2);
        assert!(stderr.starts_with("trader: "), "{args:?}: {stderr}");
    }
    let help = env.trader(&["db", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("reset"));
}

/// Issue 10: URLs that used to leak their password, or be taken as an SQLite file.
#[test]
fn malformed_database_urls_exit_2_and_never_show_the_password() {
    let env = Env::new(false, scenario(Some(1.0)));
    for url in [
        "mysql:/root:SECRET@host/x",
        "mysql:root:SECRET@host/x",
        "oracle://root:SECRET@host/x",
        "mysql://root:SECRET@:3306/x",
        "postgres://root:SECRET@host:notaport/x",
    ] {
        let out = env.trader(&["--once", "--database-url", url]);
        let stderr = one_line_failure(&out, 2);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for text in [&*stdout, &*stderr, &env.log()] {
            assert!(!text.contains("SECRET"), "{url}: {text}");
        }
    }
    // Nothing was created under the password's name.
    assert!(!env.dir.path().join("mysql:").exists());
    // An unencoded `@` or a password parameter: the error names the host, hides the rest.
    for url in [
        "mysql://bot:pa@ss/w0rd@127.0.0.1:1/trader",
        "mysql://bot@127.0.0.1:1/trader?password=w0rd",
    ] {
        let out = env.trader(&["--once", "--database-url", url]);
        assert_eq!(out.status.code(), Some(1), "{url}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("@127.0.0.1:1/trader"), "{url}: {stderr}");
        for text in [&*stderr, &env.log()] {
            assert!(
                !text.contains("w0rd") && !text.contains("ss/"),
                "{url}: {text}"
            );
        }
    }
}

#[test]
fn unreachable_database_exits_1_without_password() {
    let env = Env::new(false, scenario(Some(1.0)));
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .arg("--once")
        .current_dir(env.dir.path())
        .env("COINGECKO_API_URL", env.sim.handle.coingecko_base())
        .env("DATABASE_URL", "mysql://bot:hunter2@127.0.0.1:1/trader")
        .env("LOG_FILE", env.log_path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mysql://bot:***@127.0.0.1:1/trader"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2") && !env.log().contains("hunter2"));
}

#[test]
fn help_lists_every_option_with_its_env_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_trader"))
        .arg("--help")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "COINGECKO_API_URL",
        "COINGECKO_API_KEY",
        "LOG_FILE",
        "LOG_LEVEL",
        "--once",
        "--every-secs",
        "TRADER_EVERY_SECS",
        "TRADER_PORTFOLIO",
        "TRADER_FEE_BPS",
        "DATABASE_TIMEOUT_SECS",
        "DATABASE_CONNECT_TIMEOUT_SECS",
        "portfolios",
    ] {
        assert!(help.contains(var), "{var} missing from --help:\n{help}");
    }
}

#[test]
fn sigterm_finishes_the_cycle_in_flight_then_exits_0() {
    avoid_hour_boundary();
    let env = Env::new(false, scenario(Some(120.0)));
    // Two 5xx answers with a 700 ms base delay: the first cycle takes about 2 s.
    env.sim.handle.set_http_faults(0, 2);
    let mut child = env
        .command()
        .env("COINGECKO_RETRY_DELAY_MS", "700")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    wait_for_log(&env, "retry 1/", Duration::from_secs(20));
    send_signal(&child, "TERM");
    let status = child.wait().expect("daemon exits");
    assert_eq!(status.code(), Some(0));
    let log = env.log();
    assert!(log.contains("SIGTERM received"), "{log}");
    let (signal, done) = (
        log.find("SIGTERM received").expect("signal"),
        log.find("cycle done").expect("cycle finished"),
    );
    assert!(
        signal < done,
        "the signal came during the cycle, which was finished:\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert_eq!(trades_without_time(&env.json("trades")).len(), 1);
}

#[test]
fn daemon_runs_a_cycle_at_start_and_stops_on_sigint() {
    let env = Env::new(false, scenario(Some(120.0)));
    let mut child = env
        .command()
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("daemon starts");
    wait_for_log(&env, "cycle done", Duration::from_secs(20));
    send_signal(&child, "INT");
    assert_eq!(child.wait().expect("exits").code(), Some(0));
    assert!(env.log().contains("SIGINT received"), "{}", env.log());
}
