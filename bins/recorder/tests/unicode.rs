//! Today's Binance end to end: the real `recorder` against the simulator sending its UTF-8
//! symbols (`币安人生USDT`, …) as `\uXXXX` escapes. Every event sent is in the dataset
//! exactly once, the names are intact, and no frame or element is skipped.

mod common;

use std::time::Duration;

use common::{assert_exactly_once, sent_keys, spawn_recorder, stop_cleanly, wait_until, Sim};
use sim::market::NonAscii;

#[test]
fn escaped_utf8_names_are_recorded_exactly_once_and_intact() {
    let sim = Sim::start(sim::SimConfig {
        seed: 11,
        symbols: 1500,
        interval: Duration::from_millis(50),
        non_ascii: NonAscii::Escaped,
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &[]);
    let unicode: Vec<String> = sim::market::UNICODE
        .iter()
        .map(|(base, quote)| format!("{base}{quote}"))
        .collect();
    wait_until(Duration::from_secs(60), "UTF-8 updates and traffic", || {
        let sent = sim.h().sent();
        sent.len() > 10_000
            && unicode
                .iter()
                .all(|name| sent.iter().filter(|t| &t.symbol == name).count() >= 5)
    });
    rec.wait_stderr_count(Duration::from_secs(30), "checkpoint:", 2);
    stop_cleanly(&sim, &mut rec);

    let sent = sent_keys(&sim);
    assert_exactly_once(&out, &sent);
    let by_symbol = dataset::read_by_symbol(&out).unwrap();
    for name in &unicode {
        let rows = dataset::rows(&by_symbol[name]).unwrap();
        let expected = sent.iter().filter(|(s, _)| s == name).count();
        assert_eq!(rows.len(), expected, "{name}");
        assert!(rows.iter().all(|r| &r.symbol == name));
    }
    let skipped: Vec<&String> = rec
        .err
        .iter()
        .filter(|l| {
            l.contains("skipped a malformed frame") || l.contains("kept the rest of the frame")
        })
        .collect();
    assert!(
        skipped.is_empty(),
        "frames or elements skipped: {skipped:#?}"
    );
    assert!(
        rec.err
            .iter()
            .any(|l| l
                .contains("(0 malformed frames and 0 bad elements skipped, 0 events quarantined)")),
        "{:#?}",
        rec.err
    );
}
