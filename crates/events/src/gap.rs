//! [`Gap`]: an interval without a live feed, and [`GapReason`]: why it opened.
//!
//! # Text outside, types inside
//!
//! The gaps dataset, the write-ahead journal and the bus keep a reason as text: `startup`,
//! `not running (…)`, or the words of the disconnection that opened the gap, e.g.
//! `server closed the connection (code 1001: going away)`. That text is the contract users
//! read. Inside a process a reason stays typed from where it is born (the connection
//! manager's [`DisconnectReason`], the recorder's start) to where it is used (a metrics
//! label, "was this the start-up gap?"), so nothing parses a sentence back into a kind.
//! Text read back from a file or a message becomes [`GapReason::parse`]'s value: the two
//! fixed reasons are recognised whole, anything else is kept as
//! [`GapReason::Recorded`] text.

use std::fmt;

use crate::DisconnectReason;

/// One interval without a live feed, in ms since the Unix epoch (`start_ms <= end_ms`).
///
/// ```
/// use events::{DisconnectReason, Gap, GapReason};
/// let gap = Gap {
///     start_ms: 1_704_067_200_000,
///     end_ms: 1_704_067_203_500,
///     reason: DisconnectReason::Error("reset".into()).into(),
///     connection_id: 2,
/// };
/// assert_eq!(gap.reason.to_string(), "connection error: reset");
/// assert_eq!(gap.reason.kind(), "error");
/// assert_eq!(gap.interval(), (1_704_067_200_000, 1_704_067_203_500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Feed lost at.
    pub start_ms: i64,
    /// Feed back at.
    pub end_ms: i64,
    /// Why.
    pub reason: GapReason,
    /// The connection concerned (for [`GapReason::Startup`]: the first one up).
    pub connection_id: u64,
}

impl Gap {
    /// The interval `(start_ms, end_ms)`.
    pub fn interval(&self) -> (i64, i64) {
        (self.start_ms, self.end_ms)
    }
}

/// Why a gap opened (see the [module docs](self) for text and types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GapReason {
    /// From the recorder's start to its first live connection; text `startup`.
    Startup,
    /// The time a previous run was not recording: from its last received event to this
    /// run's start, after it ended without a clean shutdown; text
    /// `not running (previous run ended without a clean shutdown)`.
    NotRunning,
    /// The last live connection was lost, for this reason; text: the reason's words.
    Lost(DisconnectReason),
    /// A reason read back from a file or a message that is not one of the fixed ones:
    /// only its text is known.
    Recorded(String),
}

impl GapReason {
    /// The text of [`GapReason::Startup`].
    pub const STARTUP: &'static str = "startup";
    /// The text of [`GapReason::NotRunning`].
    pub const NOT_RUNNING: &'static str =
        "not running (previous run ended without a clean shutdown)";

    /// The reason a file or a message kept as `text`: the fixed reasons when the text is
    /// exactly theirs, otherwise [`GapReason::Recorded`].
    ///
    /// ```
    /// use events::GapReason;
    /// assert_eq!(GapReason::parse("startup"), GapReason::Startup);
    /// assert_eq!(GapReason::parse(GapReason::NOT_RUNNING), GapReason::NotRunning);
    /// assert_eq!(GapReason::parse("stall"), GapReason::Recorded("stall".into()));
    /// ```
    pub fn parse(text: &str) -> GapReason {
        match text {
            Self::STARTUP => GapReason::Startup,
            Self::NOT_RUNNING => GapReason::NotRunning,
            other => GapReason::Recorded(other.to_owned()),
        }
    }

    /// The label of this reason for metrics: `startup`, a [`DisconnectReason::kind`], or
    /// `other` (a not-running gap, or a reason only known as text).
    pub fn kind(&self) -> &'static str {
        match self {
            GapReason::Startup => "startup",
            GapReason::Lost(reason) => reason.kind(),
            GapReason::NotRunning | GapReason::Recorded(_) => "other",
        }
    }
}

impl fmt::Display for GapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GapReason::Startup => f.write_str(Self::STARTUP),
            GapReason::NotRunning => f.write_str(Self::NOT_RUNNING),
            GapReason::Lost(reason) => reason.fmt(f),
            GapReason::Recorded(text) => f.write_str(text),
        }
    }
}

impl From<DisconnectReason> for GapReason {
    fn from(reason: DisconnectReason) -> Self {
        GapReason::Lost(reason)
    }
}

/// [`GapReason::parse`], for reasons written as literals (`"stall".into()`).
impl From<&str> for GapReason {
    fn from(text: &str) -> Self {
        GapReason::parse(text)
    }
}

/// [`GapReason::parse`], keeping the string when it is not a fixed reason's text.
impl From<String> for GapReason {
    fn from(text: String) -> Self {
        match GapReason::parse(&text) {
            GapReason::Recorded(_) => GapReason::Recorded(text),
            fixed => fixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_label_of_every_kind_of_reason() {
        let lost = DisconnectReason::IdleTimeout(std::time::Duration::from_secs(10));
        let table: [(GapReason, &str, &str); 4] = [
            (GapReason::Startup, "startup", "startup"),
            (
                GapReason::NotRunning,
                "not running (previous run ended without a clean shutdown)",
                "other",
            ),
            (
                GapReason::Lost(lost),
                "no data for 10s (read-idle timeout)",
                "idle_timeout",
            ),
            (GapReason::Recorded("stall".into()), "stall", "other"),
        ];
        for (reason, text, kind) in table {
            assert_eq!((reason.to_string().as_str(), reason.kind()), (text, kind));
        }
    }

    #[test]
    fn text_read_back_keeps_its_words_and_the_fixed_reasons_their_type() {
        let lost = GapReason::Lost(DisconnectReason::Error("reset".into()));
        for reason in [
            GapReason::Startup,
            GapReason::NotRunning,
            lost.clone(),
            GapReason::Recorded("a reason of a newer version".into()),
        ] {
            let back = GapReason::parse(&reason.to_string());
            assert_eq!(back.to_string(), reason.to_string());
        }
        // Only whole texts are recognised: a prefix is not a kind.
        assert_eq!(
            GapReason::parse("startup, then more"),
            GapReason::Recorded("startup, then more".into())
        );
        assert_eq!(
            GapReason::parse(&lost.to_string()),
            GapReason::Recorded("connection error: reset".into())
        );
    }
}
