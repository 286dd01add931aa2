//! The recorder's [`EventSink`] contract, tested with a sink that collects what it gets:
//! each recorded event once, with the frame's exact text, and every gap.

use std::sync::{Arc, Mutex};

use events::{EventSink, Gap, GapReason, MiniTicker};

use crate::Recorder;

/// What a sink was handed: (symbol, event time, close text) per event, then the gaps.
#[derive(Default)]
struct Seen {
    events: Vec<(String, i64, String)>,
    gaps: Vec<(Gap, bool)>,
}

struct Collect(Arc<Mutex<Seen>>);

impl EventSink for Collect {
    fn events(&mut self, raw: &str, new: &[MiniTicker]) {
        let mut seen = self.0.lock().unwrap();
        bus::payload::for_each_kept(raw, new, |t| {
            seen.events
                .push((t.symbol.into(), t.event_time, t.close.into()))
        });
    }
    fn gap(&mut self, gap: &Gap, closed: bool) {
        self.0.lock().unwrap().gaps.push((gap.clone(), closed));
    }
}

fn decoded(frame: &str) -> Vec<MiniTicker> {
    match binance::decode(frame) {
        Ok(binance::Message::MiniTickers(t)) => t,
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
    assert_eq!(rec.ingest_message(1, 0, a, decoded(a)).unwrap(), 2);
    // The same frame from a redundant connection, then one that is half copy.
    assert_eq!(rec.ingest_message(2, 0, a, decoded(a)).unwrap(), 0);
    assert_eq!(rec.ingest_message(2, 0, b, decoded(b)).unwrap(), 1);
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
    rec.ingest_message(1, received, frame, decoded(frame))
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
