//! An error with its causes, on one line.
//!
//! Many errors from outside (reqwest's above all) say little in their own message
//! (`error sending request`) and the reason only in their `source()` chain
//! (`client error (Connect)`, `tcp connect error`, `Connection refused (os error 111)`).
//! [`error_chain`] writes them all on one line for a log message or an error's text.

use std::error::Error;

/// `e` and its sources joined by `": "`, each text once: a cause whose text is already
/// part of the line (a library that repeats its source in its own message) is left out,
/// and so are empty texts.
///
/// Strip what must not be shown before calling, e.g. `reqwest::Error::without_url` (a URL
/// can carry a key in its query).
///
/// ```
/// let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// #[derive(Debug)]
/// struct Outer(std::io::Error);
/// impl std::fmt::Display for Outer {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("error sending request")
///     }
/// }
/// impl std::error::Error for Outer {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.0) }
/// }
/// assert_eq!(logging::error_chain(&Outer(inner)), "error sending request: connection refused");
/// ```
pub fn error_chain(e: &dyn Error) -> String {
    let mut line = String::new();
    let mut cur: Option<&dyn Error> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cur = err.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use std::fmt;

    /// An error with a message and an optional source.
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    fn nest(texts: &[&'static str]) -> E {
        let mut e: Option<Box<E>> = None;
        for t in texts.iter().rev() {
            e = Some(Box::new(E(t, e)));
        }
        *e.expect("at least one")
    }

    #[test]
    fn joins_each_text_once() {
        let cases: &[(&[&str], &str)] = &[
            (&["alone"], "alone"),
            (&["a", "b", "c"], "a: b: c"),
            (&["sending: refused", "refused"], "sending: refused"),
            (&["a", "", "b"], "a: b"),
            (&["", "b"], "b"),
        ];
        for (texts, want) in cases {
            assert_eq!(error_chain(&nest(texts)), *want, "{texts:?}");
        }
    }
}
