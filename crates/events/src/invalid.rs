//! [`Invalid`]: every problem of a configuration at once, from a `validate()`.
//!
//! # The pattern
//!
//! Each library configuration of the workspace (`binance::StreamConfig`,
//! `record::SessionConfig`, `pricing::ClientConfig`, `alerting::Config`, ...) has a pure
//! `validate(&self) -> Result<(), Invalid>` that looks at every field and reports all that
//! is wrong, not the first thing. Its run function calls it first, so a library user gets
//! the checks the binary gets; the binary calls it too, and names each [`Problem`] by its
//! flag or environment variable ([`Invalid::describe`]).

use std::fmt;

/// One thing wrong with a configuration: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as the configuration names it (`base_url`, `streams[1].idle_timeout`).
    pub field: String,
    /// What is wrong, as the end of a sentence about the field (`must start with ws:// or
    /// wss://, got http://host`).
    pub what: String,
}

impl Problem {
    /// `field` `what`.
    pub fn new(field: impl Into<String>, what: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            what: what.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.what)
    }
}

/// Every problem a `validate()` found (never empty), shown joined by `; `.
///
/// ```
/// use events::{Invalid, Problem};
/// let mut problems = Vec::new();
/// problems.push(Problem::new("base_url", "must start with ws:// or wss://"));
/// problems.push(Problem::new("idle_timeout", "must be more than 0 s"));
/// let err = Invalid::check(problems).unwrap_err();
/// assert_eq!(err.to_string(), "base_url must start with ws:// or wss://; idle_timeout must be more than 0 s");
/// // A binary names the fields by its flags.
/// let told = err.describe(|field| match field { "base_url" => "BINANCE_WS_URL", f => f });
/// assert!(told.starts_with("BINANCE_WS_URL must start"));
/// assert!(Invalid::check(Vec::new()).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe(|field| field))]
pub struct Invalid(pub Vec<Problem>);

impl Invalid {
    /// `Ok` when `problems` is empty, otherwise all of them.
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every problem, when there is one.
    pub fn check(problems: Vec<Problem>) -> Result<(), Invalid> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid(problems))
        }
    }

    /// The problems joined by `; `, each field named by `name` (a flag, an environment
    /// variable).
    pub fn describe<'a>(&'a self, name: impl Fn(&'a str) -> &'a str) -> String {
        self.0
            .iter()
            .map(|p| format!("{} {}", name(&p.field), p.what))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The same problems with `prefix` before each field (`streams[1].` for the problems of
    /// a nested configuration).
    pub fn within(self, prefix: &str) -> Vec<Problem> {
        self.0
            .into_iter()
            .map(|p| Problem::new(format!("{prefix}{}", p.field), p.what))
            .collect()
    }
}
