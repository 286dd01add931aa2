//! `{:#}` (how the binaries print an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn bus_errors_say_their_cause_once() {
    let e = bus::BusError::JetStream {
        what: "stream create",
        reason: "insufficient resources".into(),
    };
    assert_cause_once(e, "insufficient resources");
}
