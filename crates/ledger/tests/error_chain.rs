//! `{:#}` (how the binaries print an error) says each cause once.

use std::io;

use testkit::errors::assert_cause_once;

#[test]
fn db_errors_say_their_cause_once() {
    use ledger::DbError;
    let e = DbError::CreateDir {
        path: "storage".into(),
        cause: io::Error::from(io::ErrorKind::PermissionDenied),
    };
    assert_cause_once(e, "permission denied");
    let e = DbError::Query {
        url: "mysql://bot:***@db/t".into(),
        cause: diesel::result::Error::NotFound,
    };
    assert_cause_once(e, "Record not found");
}
