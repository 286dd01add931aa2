//! [`EventSink`]: where a recording session hands on what it records, as it records it.
//!
//! # Who implements it
//!
//! Outputs, for themselves: the NATS JetStream publisher (`bus::Publisher`) implements it
//! in the `bus` crate, and a user's own output (Kafka, a second store, a test collector)
//! in theirs. The recording pipeline (`record`) knows only this trait, so it depends on no
//! output, and a recorder with several outputs fans out through it.
//!
//! # The contract
//!
//! The pipeline calls a sink on its ingest path, after de-duplication and after the events
//! are journaled and buffered: a sink sees each event once, and whatever it does cannot
//! cost the dataset an event. A sink must therefore return at once (queue, never wait).
//!
//! # Decode once
//!
//! Each [`Batch`] carries, beside the decoded rows, the frame's text and the [`Span`] of
//! each row's element in it: an output that forwards what the venue sent (the exchange's
//! exact decimal strings) slices the frame instead of decoding it again.

use crate::{Gap, MiniTicker, Span};

/// The new rows of one received frame, as the pipeline hands them to a sink.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The frame's exact text, as received.
    pub frame: &'a str,
    /// The frame's rows that are not copies (de-duplication dropped those), in frame order.
    pub rows: &'a [MiniTicker],
    /// Where each row's element lies in `frame`: `spans[i]` is `rows[i]`'s. A caller that
    /// brings rows without their frame (a tool, a test) passes none.
    pub spans: &'a [Span],
}

impl<'a> Batch<'a> {
    /// Each row with its element's text in the frame; rows without a span are skipped.
    ///
    /// ```
    /// use events::{Batch, MiniTicker, Span};
    /// let frame = r#"[{"s":"A","E":1},{"s":"B","E":2}]"#;
    /// let row = |s: &str, e| MiniTicker { symbol: s.into(), event_time: e, close: 1.0, open: 1.0,
    ///                                     high: 1.0, low: 1.0, base_volume: 0.0, quote_volume: 0.0 };
    /// let rows = [row("B", 2)];
    /// let spans = [Span { start: 17, end: 32 }];
    /// let batch = Batch { frame, rows: &rows, spans: &spans };
    /// let texts: Vec<_> = batch.elements().map(|(r, text)| (r.symbol.as_str(), text)).collect();
    /// assert_eq!(texts, [("B", r#"{"s":"B","E":2}"#)]);
    /// ```
    pub fn elements(&self) -> impl Iterator<Item = (&'a MiniTicker, &'a str)> + 'a {
        let frame = self.frame;
        (self.rows.iter().zip(self.spans))
            .filter_map(move |(row, span)| Some((row, span.of(frame)?)))
    }
}

/// Receives every recorded event and every change of the recorder's feed.
///
/// ```
/// use events::{Batch, EventSink, Gap};
/// /// Counts what it is handed.
/// #[derive(Default)]
/// struct Count { events: usize, gaps: usize }
/// impl EventSink for Count {
///     fn events(&mut self, batch: &Batch<'_>) { self.events += batch.rows.len(); }
///     fn gap(&mut self, _gap: &Gap, closed: bool) { self.gaps += usize::from(closed); }
/// }
/// // Several outputs are one: a Vec of sinks is a sink.
/// let mut both: Vec<Box<dyn EventSink>> = vec![Box::new(Count::default()), Box::new(Count::default())];
/// both.events(&Batch { frame: "[]", rows: &[], spans: &[] });
/// ```
pub trait EventSink: Send {
    /// The new events of one received frame (copies already dropped), in frame order, with
    /// the frame's text and each event's span in it.
    fn events(&mut self, batch: &Batch<'_>);

    /// The recorder lost its live feed (`closed == false`: `gap.end_ms` is only "now") or has
    /// it back (`closed == true`: the gap as the gaps dataset records it).
    fn gap(&mut self, gap: &Gap, closed: bool);
}

/// Fan-out: every sink of the list, in order.
impl<S: EventSink + ?Sized> EventSink for Vec<Box<S>> {
    fn events(&mut self, batch: &Batch<'_>) {
        for sink in self.iter_mut() {
            sink.events(batch);
        }
    }

    fn gap(&mut self, gap: &Gap, closed: bool) {
        for sink in self.iter_mut() {
            sink.gap(gap, closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GapReason;

    /// Writes what it is handed into a shared log, under its name.
    struct Log(&'static str, std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl EventSink for Log {
        fn events(&mut self, batch: &Batch<'_>) {
            self.1
                .lock()
                .unwrap()
                .push(format!("{} {} {}", self.0, batch.frame, batch.rows.len()));
        }
        fn gap(&mut self, gap: &Gap, closed: bool) {
            self.1
                .lock()
                .unwrap()
                .push(format!("{} gap {} {closed}", self.0, gap.reason));
        }
    }

    #[test]
    fn a_list_of_sinks_hands_everything_to_each_in_order() {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut sinks: Vec<Box<dyn EventSink>> = vec![
            Box::new(Log("a", log.clone())),
            Box::new(Log("b", log.clone())),
        ];
        let t = MiniTicker {
            symbol: "BTCUSDT".into(),
            event_time: 1,
            close: 1.0,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            base_volume: 0.0,
            quote_volume: 0.0,
        };
        sinks.events(&Batch {
            frame: "frame",
            rows: &[t.clone(), t],
            spans: &[],
        });
        let gap = Gap {
            start_ms: 1,
            end_ms: 2,
            reason: GapReason::Startup,
            connection_id: 1,
        };
        sinks.gap(&gap, true);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "a frame 2",
                "b frame 2",
                "a gap startup true",
                "b gap startup true"
            ]
        );
    }
}
