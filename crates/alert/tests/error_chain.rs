//! `{:#}` (how the alerter prints an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn level_errors_say_their_cause_once() {
    let price = "12a".parse::<alert::Price>().expect_err("not a number");
    let cause = price.to_string();
    assert_cause_once(alert::LevelError::from(price), &cause);
}
