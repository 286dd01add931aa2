//! The recorder's [`EventSink`] contract, tested with a sink that collects what it gets:
//! each recorded event once, with the frame's exact text, and every gap.

use std::sync::{Arc, Mutex};

use events::{Batch, EventSink, Gap, GapReason, MiniTicker};

use crate::Recorder;

/// What a sink was handed: (symbol, event time, close text) per event, then the gaps.
#[derive(Default)]
struct Seen {
    events: Vec<(String, i64, String)>,
    gaps: Vec<(Gap, bool)>,
}

struct Collect(Arc<Mutex<Seen>>);

impl EventSink for Collect {
    fn events(&mut self, batch: &Batch<'_>) {
        let mut seen = self.0.lock().unwrap();
        assert_eq!(batch.spans.len(), batch.rows.len(), "a span per row");
        for (row, element) in batch.elements() {
            // The element's own text reads as the row, exact decimal strings included.
            let n = binance::for_each_raw_mini_ticker(element, |t| {
                assert_eq!(t.parse().as_ref(), Ok(row));
                seen.events
                    .push((t.symbol.into(), t.event_time, t.close.into()))
            });
            assert_eq!(n, Ok(1), "{element}");
        }
    }
    fn gap(&mut self, gap: &Gap, closed: bool) {
        self.0.lock().unwrap().gaps.push((gap.clone(), closed));
    }
}

/// The frame's tickers and their spans, as the connection manager decodes them.
fn decoded(frame: &str) -> (Vec<MiniTicker>, Vec<events::Span>) {
    match binance::decode_elements_spanned(frame) {
        Ok(binance::Decoded {
            message: binance::Message::MiniTickers(t),
            spans,
            ..
        }) => (t, spans),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_sink_sees_each_recorded_event_once_with_its_exact_text_and_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut rec = Recorder::new(dir.path()).expect("recorder");
    rec.set_sink(Box::new(Collect(seen.clone())));
    let a = r#"[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.10","o":"1","h":"2","l":"1","v":"3","q":"4"},{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.050","o":"1","h":"2","l":"0.01","v":"3","q":"4"}]"#;
    let b = r#"[{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.050","o":"1","h":"2","l":"0.01","v":"3","q":"4"},{"e":"24hrMiniTicker","E":2,"s":"BTCUSDT","c":"1.20","o":"1","h":"2","l":"1","v":"3","q":"4"}]"#;
    assert_eq!(
        {
            let (t, spans) = decoded(a);
            rec.ingest_message(1, 0, a, t, spans)
        }
        .unwrap(),
        2
    );
    // The same frame from a redundant connection, then one that is half copy.
    assert_eq!(
        {
            let (t, spans) = decoded(a);
            rec.ingest_message(2, 0, a, t, spans)
        }
        .unwrap(),
        0
    );
    assert_eq!(
        {
            let (t, spans) = decoded(b);
            rec.ingest_message(2, 0, b, t, spans)
        }
        .unwrap(),
        1
    );
    let gap = Gap {
        start_ms: 5,
        end_ms: 6,
        reason: "stall".into(),
        connection_id: 1,
    };
    rec.feed_lost(&gap);
    rec.record_gap(gap.clone());
    let seen = seen.lock().unwrap();
    let e = |s: &str, t, c: &str| (s.to_owned(), t, c.to_owned());
    assert_eq!(
        seen.events,
        vec![
            e("BTCUSDT", 1, "1.10"),
            e("ETHBTC", 1, "0.050"),
            e("BTCUSDT", 2, "1.20")
        ]
    );
    assert_eq!(seen.gaps, vec![(gap.clone(), false), (gap, true)]);
    assert_eq!(rec.pending(), 3, "the dataset got the same events");
}

#[test]
fn the_not_running_gap_of_a_restart_after_a_crash_reaches_a_sink_set_after_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(dir.path(), chrono::Utc::now()).unwrap();
    let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.10","o":"1","h":"2","l":"1","v":"3","q":"4"}]"#;
    let received = chrono::Utc::now().timestamp_millis();
    {
        let (t, spans) = decoded(frame);
        rec.ingest_message(1, received, frame, t, spans)
    }
    .unwrap();
    rec.sync_journal().unwrap();
    drop(rec); // killed: no clean shutdown

    let restart = chrono::Utc::now() + chrono::Duration::seconds(3);
    let (mut rec, startup) = Recorder::open(dir.path(), restart).unwrap();
    let down = startup.not_running.expect("a not-running gap");
    let seen = Arc::new(Mutex::new(Seen::default()));
    rec.set_sink(Box::new(Collect(seen.clone())));
    assert_eq!(seen.lock().unwrap().gaps, vec![(down.clone(), true)]);
    assert_eq!(down.reason, GapReason::NotRunning);
    // Handed over once: a checkpoint writes it, a later sink does not get it again.
    rec.checkpoint(restart).unwrap();
    let later = Arc::new(Mutex::new(Seen::default()));
    rec.set_sink(Box::new(Collect(later.clone())));
    assert!(later.lock().unwrap().gaps.is_empty());
}
