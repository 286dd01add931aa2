//! `{:#}` (how the trader reports an error) says each cause once.

use testkit::errors::assert_cause_once;
use trading::cycle::CycleError;

#[test]
fn cycle_errors_say_their_cause_once() {
    let api = pricing::Error::Transport {
        endpoint: "/coins/markets".into(),
        attempts: 3,
        message: "connection refused".into(),
    };
    let shown = assert_cause_once(CycleError::from(api), "connection refused");
    assert!(
        shown.starts_with("cycle skipped, nothing written: "),
        "{shown}"
    );
    let db = ledger::DbError::CreateDir {
        path: "storage".into(),
        cause: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    };
    assert_cause_once(CycleError::from(db), "permission denied");
}
