//! `{:#}` (how the trader prints an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn order_errors_say_their_cause_once() {
    let e = "hold".parse::<portfolio::Side>().expect_err("no side");
    assert_cause_once(e, "\"hold\"");
}
