//! Error messages that say each cause once.
//!
//! The binaries print an error with anyhow's alternate format, `{:#}`: the message, then
//! each `source()` after `": "`. A message that already contains its cause's text *and*
//! returns the cause from `source()` prints it twice (`cannot open log file x: Permission
//! denied: Permission denied`). The workspace's rule: a message that shows its cause does
//! not also return it as its source. [`assert_causes_once`] checks one error against it.

use std::error::Error;

/// `e` formatted as the binaries print it (`{:#}`, anyhow's chain format).
pub fn chain<E: Error + Send + Sync + 'static>(e: E) -> String {
    format!("{:#}", anyhow::Error::new(e))
}

/// Panics when the `{:#}` format of `e` repeats the text of a cause (an error in its
/// `source()` chain shown both by its parent's message and on its own); returns that
/// format.
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// #[error("reading the config: {0}")] // shows its cause, and is not its source
/// struct Good(String);
/// let shown = testkit::errors::assert_causes_once(Good("no such file".into()));
/// assert_eq!(shown, "reading the config: no such file");
/// ```
///
/// ```should_panic
/// #[derive(Debug, thiserror::Error)]
/// #[error("reading the config: {0}")] // shows its cause, and returns it too
/// struct Twice(#[source] std::io::Error);
/// testkit::errors::assert_causes_once(Twice(std::io::Error::other("no such file")));
/// ```
pub fn assert_causes_once<E: Error + Send + Sync + 'static>(e: E) -> String {
    let mut texts = Vec::new();
    let mut cur: Option<&dyn Error> = Some(&e);
    while let Some(err) = cur {
        texts.push(err.to_string());
        cur = err.source();
    }
    let shown = chain(e);
    for (i, cause) in texts.iter().enumerate().skip(1) {
        assert!(
            cause.is_empty() || !texts[i - 1].contains(cause.as_str()),
            "cause {i} ({cause:?}) is printed twice under {{:#}}: {shown:?}"
        );
    }
    shown
}

/// [`assert_causes_once`], and `cause` (the text of the underlying failure: `"Permission
/// denied"`, `"connection refused"`) is in the `{:#}` format exactly once; returns that
/// format.
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// #[error("reading the config: {0}")]
/// struct Good(std::io::Error);
/// let e = Good(std::io::Error::other("no such file"));
/// testkit::errors::assert_cause_once(e, "no such file");
/// ```
pub fn assert_cause_once<E: Error + Send + Sync + 'static>(e: E, cause: &str) -> String {
    let shown = assert_causes_once(e);
    assert_eq!(
        shown.matches(cause).count(),
        1,
        "{cause:?} should be said exactly once in {shown:?}"
    );
    shown
}
