//! `{:#}` (how the trader prints an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn pricing_errors_say_their_cause_once() {
    let e = pricing::Error::Transport {
        endpoint: "/coins/markets".into(),
        attempts: 3,
        message: "timed out: error sending request".into(),
    };
    assert_cause_once(e, "timed out");
}
