//! End to end: a database server that accepts TCP but never replies (a tiny listener in
//! the test). `--once` gives up after the timeouts with a clear error (exit 1); the daemon
//! logs each stuck attempt and goes on, and SIGINT/SIGTERM still stop it (exit 0).

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// Accepts every connection and keeps it open without a byte, until dropped.
struct Silent {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Silent { port, stop }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn silent_once(scheme: &str) {
    let env = Env::new(false, scenario(Some(120.0)));
    let silent = Silent::start();
    let out = env
        .command()
        .arg("--once")
        .env(
            "DATABASE_URL",
            format!("{scheme}://bot:hunter2@127.0.0.1:{}/trader", silent.port),
        )
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "1")
        .env("DATABASE_TIMEOUT_SECS", "1")
        .output()
        .expect("runs");
    let stderr = one_line_failure(&out, 1);
    assert!(
        stderr.contains(&format!(
            "{scheme}://bot:***@127.0.0.1:{}/trader",
            silent.port
        )) && (stderr.contains("did not answer") || stderr.contains("timeout")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2") && !env.log().contains("hunter2"));
}

#[test]
fn mysql_silent_server_once_gives_up() {
    silent_once("mysql");
}

#[test]
fn postgres_silent_server_once_gives_up() {
    silent_once("postgres");
}

/// Before the fix the daemon printed nothing and ignored SIGINT once the server froze.
#[test]
fn daemon_on_a_silent_server_goes_on_and_stops_on_sigint() {
    let env = Env::new(false, scenario(Some(120.0)));
    let silent = Silent::start();
    let mut child = env
        .command()
        .env(
            "DATABASE_URL",
            format!("mysql://root@127.0.0.1:{}/trader", silent.port),
        )
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "1")
        .env("DATABASE_TIMEOUT_SECS", "1")
        .env("TRADER_EVERY_SECS", "1")
        .stdout(Stdio::null())
        .spawn()
        .expect("daemon starts");
    // Two stuck attempts, each abandoned with a clear error, and the loop goes on.
    wait_for_log_count(&env, "did not answer within", 2, Duration::from_secs(60));
    assert!(child.try_wait().expect("wait").is_none(), "daemon exited");
    assert!(env.log().contains("trying again in 1s"), "{}", env.log());
    send_signal(&child, "INT");
    assert_eq!(child.wait().expect("exits").code(), Some(0));
    assert!(
        env.log().contains("stopped after 0 cycles"),
        "{}",
        env.log()
    );
}
