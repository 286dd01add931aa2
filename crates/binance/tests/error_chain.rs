//! `{:#}` (how the binaries print an error) says each cause once.

use testkit::errors::assert_cause_once;

#[test]
fn stream_errors_say_their_cause_once() {
    let frame = "[{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"X\",\"c\":\"n/a\"}]";
    let rejected = match binance::decode_elements(frame) {
        Ok(d) => d.rejected,
        Err(e) => panic!("the array decodes element by element: {e}"),
    };
    let element = rejected
        .into_iter()
        .next()
        .expect("the element is rejected");
    let cause = element.error.to_string();
    let shown = assert_cause_once(element, &cause);
    assert!(
        shown.starts_with("element 0 of the array skipped: "),
        "{shown}"
    );
    let e = binance::DisconnectReason::Error("connection reset by peer".into());
    assert_cause_once(e, "connection reset by peer");
}

#[cfg(feature = "rest")]
#[test]
fn rest_errors_say_their_cause_once() {
    let json = serde_json::from_str::<u8>("x").expect_err("not JSON");
    let cause = json.to_string();
    assert_cause_once(binance::rest::RestError::Decode(json), &cause);
}
