//! One bad element of an `!miniTicker@arr` frame costs only itself, live and in journal
//! replay alike, and UTF-8 symbol names sent as `\uXXXX` escapes reach the dataset intact.

use chrono::Utc;
use record::journal::{self, JournalWriter};
use record::Recorder;
use sim::market::{sample_frames_with, NonAscii};

#[test]
fn live_ingest_and_replay_keep_the_good_elements_and_the_utf8_names() {
    let (mut frames, events) = sample_frames_with(42, 60, 5, NonAscii::Escaped);
    assert!(frames.concat().contains(r"\u5e01\u5b89\u4eba\u751f"));
    // The first element of the first frame gets a lone surrogate in its symbol.
    frames[0] = frames[0].replacen(r#""s":""#, r#""s":"\udfff"#, 1);

    let live_dir = tempfile::tempdir().unwrap();
    let mut live = Recorder::new(live_dir.path()).expect("recorder");
    let kept: usize = frames.iter().map(|f| live.ingest_frame(f).unwrap()).sum();
    assert_eq!(kept as u64, events - 1);

    let out = tempfile::tempdir().unwrap();
    let (mut j, _) = JournalWriter::open(journal::dir(out.path())).unwrap();
    let mut scratch = Vec::new();
    for f in &frames {
        // Received when it happened (the journal's receive time bounds the accepted skew).
        journal::decode_frame(f, &mut scratch).unwrap();
        let received = scratch.iter().map(|t| t.event_time).max().unwrap_or(0);
        j.append(1, received, f).unwrap();
    }
    drop(j); // a crash: nothing published
    let (_j, leftovers) = JournalWriter::open(journal::dir(out.path())).unwrap();
    let report = journal::replay(out.path(), &leftovers, Utc::now(), false).unwrap();
    assert_eq!(
        (
            report.rows_written,
            report.rejected_elements,
            report.malformed_frames
        ),
        (kept, 1, 0)
    );
    let symbols = dataset::read_by_symbol(out.path()).unwrap();
    for (base, quote) in sim::market::UNICODE {
        let name = format!("{base}{quote}");
        assert!(
            symbols.contains_key(&name),
            "{name} missing: {:?}",
            symbols.keys().take(30).collect::<Vec<_>>()
        );
    }
}
