//! [`Span`]: where one decoded row's element lies in the frame it came from.
//!
//! # Why outputs want it
//!
//! A venue's decoder reads each element of a frame once. An output that forwards the
//! element as the venue sent it (the bus publishes each event as the exchange's own JSON
//! object, its decimal strings untouched) needs only the element's bytes, not a second
//! parse: the decoder hands on, beside each row, the byte range of its element in the
//! frame's text.

/// A byte range of a frame's text: `start..end`.
///
/// ```
/// let frame = r#"[{"s":"A"},{"s":"B"}]"#;
/// let second = events::Span { start: 11, end: 20 };
/// assert_eq!(second.of(frame), Some(r#"{"s":"B"}"#));
/// assert_eq!(events::Span { start: 11, end: 99 }.of(frame), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span of `part`, a slice of `text` (`None` when it is not one).
    ///
    /// ```
    /// let frame = r#"[{"s":"A"}]"#;
    /// let span = events::Span::within(frame, &frame[1..10]).unwrap();
    /// assert_eq!((span.start, span.end), (1, 10));
    /// assert_eq!(events::Span::within(frame, "elsewhere"), None);
    /// ```
    pub fn within(text: &str, part: &str) -> Option<Span> {
        let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start + part.len();
        (end <= text.len()).then_some(Span { start, end })
    }

    /// The text of this span in `text`, if it lies within it on character boundaries.
    pub fn of(self, text: &str) -> Option<&str> {
        text.get(self.start..self.end)
    }
}
