//! `{:#}` (how the binaries print an error) says each cause once.

use std::io;

use logging::LogError;
use testkit::errors::assert_cause_once;

#[test]
fn log_errors_say_their_cause_once() {
    let e = LogError::File {
        path: "/var/log/x.log".into(),
        cause: io::Error::from(io::ErrorKind::PermissionDenied),
    };
    let shown = assert_cause_once(e, "permission denied");
    assert!(
        shown.starts_with("cannot open log file /var/log/x.log: "),
        "{shown}"
    );
}

#[test]
fn error_chain_of_a_real_chain_says_each_text_once() {
    let inner = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
    let outer = io::Error::other(inner);
    // io::Error::other's Display is the inner's text, and its source() is the inner too.
    assert_eq!(logging::error_chain(&outer), "connection refused");
}
