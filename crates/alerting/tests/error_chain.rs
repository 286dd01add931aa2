//! `{:#}` (how the alerter prints a fatal error) says each cause once.

use std::io;

use alerting::Error;
use testkit::errors::assert_cause_once;

#[test]
fn alerting_errors_say_their_cause_once() {
    let broken = || io::Error::from(io::ErrorKind::BrokenPipe);
    let shown = assert_cause_once(Error::Stdout(broken()), "broken pipe");
    assert!(shown.starts_with("cannot write to stdout: "), "{shown}");
    assert_cause_once(Error::Signals(broken()), "broken pipe");
    assert_cause_once(Error::Prompt(broken()), "broken pipe");
    let bus = bus::BusError::Connect {
        server: "nats://127.0.0.1:4222".into(),
        reason: "connection refused".into(),
    };
    assert_cause_once(Error::Bus(bus), "connection refused");
    let check = Error::CheckFailed {
        symbol: "BTCUSDT".parse().expect("symbol"),
        why: "timed out".into(),
    };
    assert_cause_once(check, "timed out");
}
