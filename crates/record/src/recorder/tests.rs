//! The recorder's tests across its parts: the lock, and what a crash, a full disk or a kill
//! during a checkpoint leave behind (the journal's replay must publish every event once).

use std::path::Path;

use super::*;

#[test]
fn a_second_recorder_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    let err = Recorder::open(dir.path(), Utc::now())
        .err()
        .expect("second open refused");
    assert!(err.to_string().contains("another recorder"), "{err}");
    drop(first);
    assert!(
        Recorder::open(dir.path(), Utc::now()).is_ok(),
        "lock released with the first"
    );
}

/// `!miniTicker@arr` elements for `(symbol, event_time)`.
fn frame(events: &[(&str, i64)]) -> String {
    let items: Vec<String> = events
        .iter()
        .map(|(s, e)| {
            format!(
                r#"{{"e":"24hrMiniTicker","E":{e},"s":"{s}","c":"1.5","o":"1.0","h":"2.0","l":"0.5","v":"10","q":"15"}}"#
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The frame's tickers and their spans, as the connection manager decodes them.
fn decoded(text: &str) -> (Vec<MiniTicker>, Vec<events::Span>) {
    match binance::decode_elements_spanned(text) {
        Ok(binance::Decoded {
            message: binance::Message::MiniTickers(t),
            spans,
            ..
        }) => (t, spans),
        other => panic!("{other:?}"),
    }
}

fn rows(dir: &Path) -> Vec<(String, i64)> {
    let mut keys: Vec<_> = dataset::read_dataset(dir)
        .unwrap()
        .iter()
        .flat_map(|b| dataset::rows(b).unwrap())
        .map(|r| (r.symbol, r.event_time))
        .collect();
    keys.sort();
    keys
}

#[test]
fn out_of_range_event_times_are_quarantined_and_checkpoints_go_on() {
    let now = 1_764_547_200_000; // 2025-12-01
    let year_10000 = 253_402_300_800_000;
    let text = frame(&[
        ("GOODUSDT", now - 500),
        ("MAXUSDT", i64::MAX),
        ("Y10KUSDT", year_10000),
        ("FARUSDT", now + 86_400_000),
        ("OTHERUSDT", now - 400),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    {
        let (t, spans) = decoded(&text);
        rec.ingest_message(1, now, &text, t, spans)
    }
    .unwrap();
    rec.checkpoint(Utc::now())
        .expect("a bad event time does not stop checkpoints");
    let good = vec![
        ("GOODUSDT".to_string(), now - 500),
        ("OTHERUSDT".to_string(), now - 400),
    ];
    assert_eq!(rows(dir.path()), good);
    assert_eq!(rec.quarantined(), 3);
    drop(rec);
    // Journal replay after a crash agrees with the live path.
    let crashed = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(crashed.path(), Utc::now()).unwrap();
    {
        let (t, spans) = decoded(&text);
        rec.ingest_message(1, now, &text, t, spans)
    }
    .unwrap();
    drop(rec); // no checkpoint: only the journal has the rows
    let (_rec, startup) = Recorder::open(crashed.path(), Utc::now()).unwrap();
    assert_eq!(rows(crashed.path()), good);
    assert_eq!(startup.replay.quarantined, 3);
}

/// Feeds one frame of two symbols at `t` (received then); returns its keys.
fn feed(rec: &mut Recorder, t: i64) -> (Vec<(String, i64)>, Result<usize, RecordError>) {
    let text = frame(&[("AUSDT", t), ("BUSDT", t)]);
    let keys = vec![("AUSDT".to_string(), t), ("BUSDT".to_string(), t)];
    (keys, {
        let (rows, spans) = decoded(&text);
        rec.ingest_message(1, t, &text, rows, spans)
    })
}

#[test]
fn a_full_disk_loses_nothing_once_space_is_back() {
    let now = 1_764_547_200_000;
    let dir = tempfile::tempdir().unwrap();
    let jdir = journal::dir(dir.path());
    let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    let mut sent = Vec::new();
    let (keys, ok) = feed(&mut rec, now);
    sent.extend(keys);
    ok.unwrap();
    // The next segment cannot be created: the checkpoint is postponed, nothing is left
    // in the way of the next rotation.
    rec.journal.as_mut().unwrap().inject_disk_full(1);
    assert!(rec.checkpoint(Utc::now()).is_err());
    assert_eq!(
        journal::segments(&jdir).unwrap().len(),
        1,
        "no empty segment left"
    );
    assert_eq!(rec.pending(), 2);
    rec.checkpoint(Utc::now()).expect("space is back");
    // Journal writes fail: the events are buffered and their records kept in memory.
    rec.journal.as_mut().unwrap().inject_disk_full(2);
    for i in 1..3 {
        let (keys, failed) = feed(&mut rec, now + 1000 * i);
        sent.extend(keys);
        assert!(failed.is_err());
    }
    rec.checkpoint(Utc::now()).expect("space is back");
    rec.journal.as_mut().unwrap().inject_disk_full(2);
    for i in 3..6 {
        let (keys, result) = feed(&mut rec, now + 1000 * i);
        sent.extend(keys);
        assert_eq!(result.is_ok(), i == 5, "frame {i}");
    }
    drop(rec); // a crash once space is back: the journal has everything
    let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
    assert_eq!(startup.replay.rows_written, 6);
    sent.sort();
    assert_eq!(rows(dir.path()), sent, "every event exactly once");
}

#[test]
fn frames_taken_while_a_checkpoint_runs_are_journaled_and_survive_a_kill() {
    let now = Utc::now().timestamp_millis();
    let dir = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    let (mut sent, ok) = feed(&mut rec, now);
    ok.unwrap();
    let task = rec.start_checkpoint(Utc::now()).unwrap();
    assert!(matches!(
        rec.start_checkpoint(Utc::now()),
        Err(RecordError::CheckpointRunning)
    ));
    // The loop goes on while the task runs elsewhere.
    let (keys, ok) = feed(&mut rec, now + 1000);
    sent.extend(keys);
    ok.unwrap();
    assert_eq!(rec.pending(), 4);
    let done = std::thread::spawn(move || task.run()).join().unwrap();
    assert_eq!(rec.finish_checkpoint(done).unwrap().len(), 1);
    assert_eq!((rec.pending(), rec.rows_written()), (2, 2));
    // Killed while the next checkpoint runs: it never published.
    let task = rec.start_checkpoint(Utc::now()).unwrap();
    let (keys, ok) = feed(&mut rec, now + 2000);
    sent.extend(keys);
    ok.unwrap();
    drop(task);
    drop(rec);
    let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
    assert_eq!(startup.replay.rows_written, 4);
    sent.sort();
    assert_eq!(rows(dir.path()), sent, "every event exactly once");
}

#[test]
fn gaps_are_journaled_and_a_crash_becomes_a_not_running_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    let now = Utc::now().timestamp_millis();
    let (_, ok) = feed(&mut rec, now);
    ok.unwrap();
    let gap = Gap {
        start_ms: now - 2000,
        end_ms: now - 1000,
        reason: "reconnect: reset".into(),
        connection_id: 2,
    };
    rec.record_gap(gap.clone());
    drop(rec); // killed: nothing checkpointed
    let restart = Utc::now() + chrono::Duration::seconds(5);
    let (mut rec, startup) = Recorder::open(dir.path(), restart).unwrap();
    let down = startup.not_running.expect("a not-running gap");
    assert_eq!(
        (down.start_ms, down.end_ms, &down.reason),
        (now, restart.timestamp_millis(), &GapReason::NotRunning)
    );
    rec.checkpoint(restart).unwrap();
    assert_eq!(dataset::gaps::read_gaps(dir.path()).unwrap(), [gap, down]);
    rec.close().unwrap();
    let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
    assert!(startup.not_running.is_none(), "a clean stop is no gap");
}

/// The age of the oldest unpublished row: none while nothing waits; from the first row
/// buffered, kept across a failed checkpoint (its rows wait on), gone once published.
#[test]
fn unpublished_age_follows_the_oldest_waiting_row() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::new(dir.path()).unwrap();
    assert_eq!(rec.unpublished_age(Instant::now()), None);
    // 2020-06-19 UTC; a file in the way of its date partition fails the checkpoint.
    let blocker = dir.path().join("date=2020-06-19");
    std::fs::write(&blocker, b"x").unwrap();
    let first = Instant::now();
    rec.ingest_frame(&frame(&[("BTCUSDT", 1_592_524_800_000)]))
        .unwrap();
    let later = first + Duration::from_secs(100);
    let age = rec.unpublished_age(later).unwrap();
    assert!(age <= Duration::from_secs(100), "{age:?}");
    assert!(age >= Duration::from_secs(99), "{age:?}");
    assert!(rec.checkpoint(Utc::now()).is_err());
    rec.ingest_frame(&frame(&[("ETHUSDT", 1_592_524_800_001)]))
        .unwrap();
    assert!(
        rec.unpublished_age(later).unwrap() >= age,
        "the failed checkpoint's rows still count from their own arrival"
    );
    std::fs::remove_file(&blocker).unwrap();
    rec.checkpoint(Utc::now()).unwrap();
    assert_eq!(rec.unpublished_age(later), None);
}

/// A frame that also carried copies is journaled as its other elements, each as it was
/// received (escapes and decimal strings untouched, found by the decoder's spans), and a
/// replay after a crash records each event once.
#[test]
fn a_frame_with_copies_is_journaled_as_its_new_elements_verbatim() {
    let now = 1_764_547_200_000;
    let el = |s: &str, e: i64, c: &str| {
        format!(
            r#"{{"e":"24hrMiniTicker","E":{e},"s":"{s}","c":"{c}","o":"1","h":"2","l":"0.01","v":"3","q":"4"}}"#
        )
    };
    let copy = el("YUSDT", now - 100, "2.0");
    let new = el(r"\u5e01USDT", now - 50, "0.050");
    let far = el("FARUSDT", now + 86_400_000, "1");
    let a = format!("[{},{copy}]", el("XUSDT", now - 100, "1.10"));
    let b = format!("[ {copy} , {new},{far}]");
    let dir = tempfile::tempdir().unwrap();
    let (mut rec, _) = Recorder::open(dir.path(), Utc::now()).unwrap();
    for (conn, text) in [(1, &a), (2, &b)] {
        let (rows, spans) = decoded(text);
        rec.ingest_message(conn, now, text, rows, spans).unwrap();
    }
    rec.sync_journal().unwrap();
    drop(rec); // killed: only the journal has the rows
    let journal: Vec<u8> = (std::fs::read_dir(dir.path().join("_journal")).unwrap())
        .flat_map(|f| std::fs::read(f.unwrap().path()).unwrap())
        .collect();
    let wanted = format!("[{new},{far}]");
    assert!(
        journal
            .windows(wanted.len())
            .any(|w| w == wanted.as_bytes()),
        "the journal holds {wanted}"
    );
    let (_rec, startup) = Recorder::open(dir.path(), Utc::now()).unwrap();
    assert_eq!(startup.replay.quarantined, 1);
    assert_eq!(
        rows(dir.path()),
        [
            ("XUSDT".to_string(), now - 100),
            ("YUSDT".to_string(), now - 100),
            ("币USDT".to_string(), now - 50),
        ]
    );
}
