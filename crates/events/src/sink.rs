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

use crate::{Gap, MiniTicker};

/// Receives every recorded event and every change of the recorder's feed.
///
/// ```
/// use events::{EventSink, Gap, MiniTicker};
/// /// Counts what it is handed.
/// #[derive(Default)]
/// struct Count { events: usize, gaps: usize }
/// impl EventSink for Count {
///     fn events(&mut self, _raw: &str, new: &[MiniTicker]) { self.events += new.len(); }
///     fn gap(&mut self, _gap: &Gap, closed: bool) { self.gaps += usize::from(closed); }
/// }
/// // Several outputs are one: a Vec of sinks is a sink.
/// let mut both: Vec<Box<dyn EventSink>> = vec![Box::new(Count::default()), Box::new(Count::default())];
/// both.events("[]", &[]);
/// ```
pub trait EventSink: Send {
    /// The new events of one received frame (copies already dropped), in frame order, with
    /// the frame's text (for the exchange's exact decimal strings).
    fn events(&mut self, raw: &str, new: &[MiniTicker]);

    /// The recorder lost its live feed (`closed == false`: `gap.end_ms` is only "now") or has
    /// it back (`closed == true`: the gap as the gaps dataset records it).
    fn gap(&mut self, gap: &Gap, closed: bool);
}

/// Fan-out: every sink of the list, in order.
impl<S: EventSink + ?Sized> EventSink for Vec<Box<S>> {
    fn events(&mut self, raw: &str, new: &[MiniTicker]) {
        for sink in self.iter_mut() {
            sink.events(raw, new);
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
        fn events(&mut self, raw: &str, new: &[MiniTicker]) {
            self.1
                .lock()
                .unwrap()
                .push(format!("{} {raw} {}", self.0, new.len()));
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
        sinks.events("frame", &[t.clone(), t]);
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
