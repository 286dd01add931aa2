//! End to end: the hourly daemon through a database outage. The MariaDB server sits
//! behind a proxy the test switches off and on; the daemon (one cycle per second here)
//! must log a clear error, keep running, reconnect when the server is back, and still buy
//! each coin at most once per hour.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::proxy::Proxy;
use common::*;

/// Every wait of this test: generous, as no timing is asserted.
const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn mysql_outage_costs_the_cycles_it_spans_and_nothing_else() {
    avoid_hour_boundary();
    let env = Env::new(true, scenario(Some(120.0)));
    let (mut proxy, url) = Proxy::for_mysql(&env.db.url());
    let mut child = env
        .command()
        .env("DATABASE_URL", &url)
        .env("TRADER_EVERY_SECS", "1")
        .stdout(Stdio::null())
        .spawn()
        .expect("daemon starts");

    // Down from the start: a clear error, and the daemon keeps going.
    wait_for_log_count(&env, "trying again in 1s", 2, PATIENCE);
    assert!(child.try_wait().expect("wait").is_none(), "daemon exited");
    assert_eq!(log_count(&env, "cycle done"), 0);

    // Up: it connects, migrates and buys alpha.
    proxy.up();
    wait_for_log_count(&env, "cycle done: 1 bought", 1, PATIENCE);
    assert!(env.log().contains("is back"), "{}", env.log());

    // The server goes away under an open connection: the cycle fails, it reconnects later.
    proxy.down();
    wait_for_log_count(&env, "reconnecting in 1s", 1, PATIENCE);
    proxy.up();
    wait_for_log_count(&env, "1 already bought this hour", 1, PATIENCE);
    let before_stop = log_count(&env, "cycle done");

    send_signal(&child, "TERM");
    assert_eq!(child.wait().expect("exits").code(), Some(0));

    let log = env.log();
    assert!(before_stop >= 2, "{log}");
    assert!(
        log.contains(&format!(
            "cannot connect to database mysql://root@127.0.0.1:{}/",
            proxy.port()
        )),
        "{log}"
    );
    // One buy in spite of every cycle after the outage seeing alpha below its average.
    let trades = trades_without_time(&env.json("trades"));
    assert_eq!(trades.len(), 1, "{trades:?}");
    assert_eq!(trades[0]["symbol"], "ALP");
    assert_eq!(env.counts().trades, 1);
}

/// Issue 10: MariaDB freezes mid-run (the connection stays open, nothing answers). Before
/// the fix the daemon logged nothing more and SIGINT no longer stopped it. Now the stuck
/// cycle is abandoned with a clear error, the loop goes on, and SIGINT stops it (exit 0).
#[test]
fn mysql_freeze_mid_run_is_a_timeout_and_sigint_still_stops() {
    avoid_hour_boundary();
    let env = Env::new(true, scenario(Some(120.0)));
    let (mut proxy, url) = Proxy::for_mysql(&env.db.url());
    proxy.up();
    let mut child = env
        .command()
        .env("DATABASE_URL", &url)
        .env("TRADER_EVERY_SECS", "1")
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "1")
        .env("DATABASE_TIMEOUT_SECS", "1")
        .stdout(Stdio::null())
        .spawn()
        .expect("daemon starts");
    wait_for_log_count(&env, "cycle done: 1 bought", 1, PATIENCE);

    proxy.freeze();
    // The open connection hangs: that cycle ends with a timeout; later opens hang too.
    wait_for_log_count(&env, "did not answer within", 2, PATIENCE);
    assert!(child.try_wait().expect("wait").is_none(), "daemon exited");
    send_signal(&child, "INT");
    assert_eq!(child.wait().expect("exits").code(), Some(0));
    let log = env.log();
    assert!(log.contains("SIGINT received"), "{log}");
    assert!(log.contains("stopped after"), "{log}");
    proxy.thaw();
    assert_eq!(env.counts().trades, 1);
}
