//! `{:#}` (how the binaries print an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn ops_errors_say_their_cause_once() {
    let e = ops::OpsError::Bind {
        addr: "127.0.0.1:9100".parse().expect("addr"),
        cause: std::io::Error::from(std::io::ErrorKind::AddrInUse),
    };
    assert_cause_once(e, "address in use");
    assert_cause_once(ops::OpsError::Install("already set".into()), "already set");
}
