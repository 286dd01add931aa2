//! Why a frame could not be decoded.

use serde_json::error::Category;

/// Longest excerpt of a frame kept in a [`DecodeError`], in characters.
pub const EXCERPT_CHARS: usize = 120;

/// A text frame that is not one of the shapes this crate understands.
///
/// Every variant carries a short excerpt (at most [`EXCERPT_CHARS`] characters)
/// of the offending frame, so a log line shows what arrived without dumping a
/// 200 kB `!miniTicker@arr` frame. Decoding never panics, whatever the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Not valid JSON (syntax error, trailing characters, bad escape).
    #[error("invalid JSON ({detail}) in frame: {excerpt}")]
    Json {
        /// serde_json's description, with line and column (`expected value at line 1 column 2`).
        detail: String,
        /// The start of the frame (or of the array element).
        excerpt: String,
    },
    /// The JSON text ends before the value it started is complete.
    #[error("truncated JSON frame: {excerpt}")]
    Truncated {
        /// The start of the frame (or of the array element).
        excerpt: String,
    },
    /// Valid JSON, but not an array, event, envelope or control reply.
    #[error("unexpected frame shape ({detail}): {excerpt}")]
    UnexpectedShape {
        /// What was wrong with it, e.g. `empty symbol `s`` or serde_json's type complaint.
        detail: String,
        /// The start of the frame (or of the array element).
        excerpt: String,
    },
    /// An event this crate decodes lacks a field it needs.
    #[error("missing field `{field}` in frame: {excerpt}")]
    MissingField {
        /// Binance's key of the missing field (`E`, `s`, `c`, ...).
        field: &'static str,
        /// The start of the frame (or of the array element).
        excerpt: String,
    },
    /// A field has the wrong JSON type (for example a number where a string is expected).
    #[error("field `{field}` is not {expected} in frame: {excerpt}")]
    WrongType {
        /// Binance's key of the field (`E`, `s`, `c`, ...).
        field: &'static str,
        /// The JSON type the field must have (`a string`, `an integer`, ...).
        expected: &'static str,
        /// The start of the frame (or of the array element).
        excerpt: String,
    },
    /// A decimal string that is not a finite, non-negative number.
    #[error("field `{field}` is not a finite non-negative number: {value:?} in frame: {excerpt}")]
    BadNumber {
        /// Binance's key of the field (`c`, `o`, `h`, `l`, `v`, `q`).
        field: &'static str,
        /// The value as sent, cut to its first 40 characters.
        value: String,
        /// Which event it was in: `symbol <name>` (the frame is not at hand then).
        excerpt: String,
    },
    /// A binary frame: Binance streams send JSON text only.
    #[error("unexpected binary frame of {len} bytes")]
    NotText {
        /// The frame's size in bytes.
        len: usize,
    },
}

/// One element of an event array that could not be decoded; the frame's other
/// elements were (see [`crate::decode_elements`]).
///
/// The inner [`DecodeError`]'s excerpt is the element's own text, not the
/// frame's. A lone surrogate (`"\ud800"`) or an invalid escape (`"\x"`) inside
/// an element is a [`DecodeError::Json`] of that element.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("element {index} of the array skipped: {error}")]
pub struct ElementError {
    /// Position of the element in the array, from 0.
    pub index: usize,
    /// Why it was skipped.
    pub error: DecodeError,
}

impl DecodeError {
    /// Maps a serde_json error to [`DecodeError::Truncated`] or [`DecodeError::Json`].
    pub(crate) fn from_json(err: &serde_json::Error, text: &str) -> Self {
        let excerpt = excerpt(text);
        match err.classify() {
            Category::Eof => DecodeError::Truncated { excerpt },
            Category::Data => DecodeError::UnexpectedShape {
                detail: err.to_string(),
                excerpt,
            },
            Category::Syntax | Category::Io => DecodeError::Json {
                detail: err.to_string(),
                excerpt,
            },
        }
    }

    /// Builds [`DecodeError::UnexpectedShape`].
    pub(crate) fn shape(detail: impl Into<String>, text: &str) -> Self {
        DecodeError::UnexpectedShape {
            detail: detail.into(),
            excerpt: excerpt(text),
        }
    }

    /// Fills an empty excerpt with one of `text` (the whole frame); errors
    /// raised deep inside an element do not know the frame.
    pub(crate) fn or_frame(mut self, text: &str) -> Self {
        match &mut self {
            DecodeError::Json { excerpt, .. }
            | DecodeError::Truncated { excerpt }
            | DecodeError::UnexpectedShape { excerpt, .. }
            | DecodeError::MissingField { excerpt, .. }
            | DecodeError::WrongType { excerpt, .. }
            | DecodeError::BadNumber { excerpt, .. } => {
                if excerpt.is_empty() {
                    *excerpt = self::excerpt(text);
                }
            }
            DecodeError::NotText { .. } => {}
        }
        self
    }
}

/// The first [`EXCERPT_CHARS`] characters of `text` (an ellipsis marks a cut).
pub(crate) fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.char_indices().nth(EXCERPT_CHARS).is_none() {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(EXCERPT_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(excerpt("  {\"a\":1} "), "{\"a\":1}");
        let exact: String = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long: String = "é".repeat(EXCERPT_CHARS + 5);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
    }
}
