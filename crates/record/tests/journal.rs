//! The write-ahead journal: roundtrip, torn tails at every offset, corruption, and the
//! exactly-once replay protocol around a crash between publishing and deleting.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use dataset::{read_dataset, rows, DatasetWriter, OwnedTick, TickBuffer};
use record::journal::{
    self, decode_frame, read_segment, recover, replay, segments_metadata, Damage, JournalWriter,
    RunId, SegmentId,
};

/// Realistic `!miniTicker@arr` frames from the simulated market, one per second from `start_ms`.
fn frames(start_ms: i64, n: usize) -> Vec<String> {
    let mut market = sim::market::Market::new(7, 40);
    (0..n)
        .map(|i| sim::market::Market::frame_json(&market.tick(start_ms + 1000 * i as i64)))
        .collect()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// A journaled frame: (conn_id, received_at_ms, frame).
type Owned = (u64, i64, String);

/// Every record of every segment, and the damage found per segment.
fn read_all(dir: &Path) -> (Vec<Owned>, Vec<Vec<Damage>>) {
    let mut out = Vec::new();
    let reports = recover(dir, |r| {
        out.push((r.conn_id, r.received_at_ms, r.frame.to_owned()))
    })
    .unwrap();
    (out, reports.into_iter().map(|r| r.damage).collect())
}

#[test]
fn roundtrip_across_rotations_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    {
        let (mut j, leftovers) = JournalWriter::open(dir.path()).unwrap();
        assert!(leftovers.is_empty());
        let odd = ["", "é ✓ \u{1F600}", &"x".repeat(3 << 20)];
        for (i, frame) in frames(1_700_000_000_000, 30)
            .iter()
            .map(String::as_str)
            .chain(odd)
            .enumerate()
        {
            let rec = (i as u64 % 3, 1_700_000_000_000 + i as i64, frame.to_owned());
            j.append(rec.0, rec.1, &rec.2).unwrap();
            expected.push(rec);
            if i % 10 == 9 {
                let closed = j.rotate().unwrap();
                assert_eq!(closed.seq, i as u64 / 10);
                assert_eq!(closed.run, j.current().run);
            }
            if i % 4 == 0 {
                j.sync().unwrap();
            }
        }
        j.sync_now().unwrap();
    }
    let (got, damage) = read_all(dir.path());
    assert_eq!(got, expected);
    assert_eq!(damage, vec![Vec::<Damage>::new(); 4]);
    let first_run = leftovers_run(dir.path());
    let (j, leftovers) = JournalWriter::open(dir.path()).unwrap();
    assert_eq!(
        leftovers,
        (0..4)
            .map(|seq| SegmentId::new(first_run, seq))
            .collect::<Vec<_>>()
    );
    // A new run: its numbering starts again, under another name.
    assert_eq!(j.current().seq, 0);
    assert_ne!(j.current().run, first_run);
    for s in leftovers {
        j.remove(s).unwrap();
    }
    assert!(
        j.remove(j.current()).is_err(),
        "the live segment is not removable"
    );
    assert_eq!(journal::segments(dir.path()).unwrap(), [j.current()]);
}

/// The run of the segments in `dir` (they must all be of one).
fn leftovers_run(dir: &Path) -> RunId {
    let segments = journal::segments(dir).unwrap();
    let run = segments[0].run;
    assert!(segments.iter().all(|s| s.run == run), "{segments:?}");
    run
}

#[test]
fn truncation_at_every_offset_of_the_last_record_keeps_the_whole_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = JournalWriter::open(dir.path()).unwrap();
    let frames = frames(1_700_000_000_000, 3);
    for f in &frames {
        j.append(1, 5, f).unwrap();
    }
    j.sync_now().unwrap();
    let seg = j.rotate().unwrap();
    drop(j);
    let path = dir.path().join(seg.file_name());
    let full = fs::read(&path).unwrap();
    let last_start = full.len() - (28 + frames[2].len());
    for cut in last_start..full.len() {
        fs::write(&path, &full[..cut]).unwrap();
        let mut got = Vec::new();
        let report = read_segment(dir.path(), seg, |r| got.push(r.frame.to_owned())).unwrap();
        assert_eq!(got, frames[..2], "cut at {cut}");
        let expected = (cut > last_start).then_some(Damage::TornTail {
            segment: seg,
            offset: last_start as u64,
            bytes_dropped: (cut - last_start) as u64,
        });
        assert_eq!(report.damage, Vec::from_iter(expected), "cut at {cut}");
    }
    // Cut inside the magic: nothing, reported as torn (a crash right after creation).
    fs::write(&path, &full[..3]).unwrap();
    let report = read_segment(dir.path(), seg, |_| panic!("no record")).unwrap();
    assert!(matches!(
        report.damage.as_slice(),
        [Damage::TornTail {
            offset: 0,
            bytes_dropped: 3,
            ..
        }]
    ));
    // A power cut can leave zeros after the last whole record.
    let mut zeros = full.clone();
    zeros.truncate(last_start);
    zeros.extend([0u8; 4096]);
    fs::write(&path, &zeros).unwrap();
    let report = read_segment(dir.path(), seg, |_| {}).unwrap();
    assert_eq!(report.records, 2);
    assert!(matches!(
        report.damage.as_slice(),
        [Damage::TornTail {
            bytes_dropped: 4096,
            ..
        }]
    ));
}

#[test]
fn a_flipped_bit_is_detected_and_never_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = JournalWriter::open(dir.path()).unwrap();
    for f in ["first", "second", "third"] {
        j.append(1, 2, f).unwrap();
    }
    let seg = j.rotate().unwrap();
    drop(j);
    let path = dir.path().join(seg.file_name());
    let full = fs::read(&path).unwrap();
    let second = 8 + 28 + "first".len();
    let third = second + 28 + "second".len();
    for (byte, last) in [
        (second + 29, false), // payload of a middle record
        (second + 1, false),  // its marker
        (second + 5, false),  // its length
        (second + 9, false),  // its CRC
        (second + 14, false), // its received_at
        (third + 30, true),   // the last record: indistinguishable from a torn write
    ] {
        let mut bad = full.clone();
        bad[byte] ^= 0x04;
        fs::write(&path, &bad).unwrap();
        let mut got = Vec::new();
        let report = read_segment(dir.path(), seg, |r| got.push(r.frame.to_owned())).unwrap();
        match (last, report.damage.as_slice()) {
            (
                false,
                [Damage::Corrupt {
                    offset,
                    bytes_dropped,
                    ..
                }],
            ) => {
                assert_eq!(got, ["first", "third"], "flip at {byte}");
                assert_eq!(
                    (*offset, *bytes_dropped),
                    (second as u64, (third - second) as u64)
                );
            }
            (true, [Damage::TornTail { offset, .. }]) => {
                assert_eq!(got, ["first", "second"], "flip at {byte}");
                assert_eq!(*offset, third as u64)
            }
            other => panic!("flip at {byte}: {other:?}"),
        }
    }
}

#[test]
fn first_format_segments_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = journal::MAGIC_V1.to_vec();
    for (conn, frame) in [(1u64, "one"), (2, "two")] {
        let len = (16 + frame.len()) as u32;
        let mut payload = 7i64.to_le_bytes().to_vec();
        payload.extend(conn.to_le_bytes());
        payload.extend(frame.as_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), &payload);
        data.extend(len.to_le_bytes());
        data.extend(crc.to_le_bytes());
        data.extend(payload);
    }
    fs::write(
        dir.path()
            .join(SegmentId::new(RunId::LEGACY, 0).file_name()),
        &data,
    )
    .unwrap();
    let (got, damage) = read_all(dir.path());
    assert_eq!(got, [(1, 7, "one".to_owned()), (2, 7, "two".to_owned())]);
    assert_eq!(damage, [Vec::<Damage>::new()]);
}

#[test]
fn garbage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let seg = SegmentId::new(RunId::LEGACY, 9);
    let path = dir.path().join(seg.file_name());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..300 {
        let len = round * 7 % 200;
        let mut data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if round % 2 == 0 {
            data.splice(0..0, journal::MAGIC.iter().copied());
        }
        fs::write(&path, &data).unwrap();
        let report = read_segment(dir.path(), seg, |_| {}).unwrap();
        assert!(report.records == 0 || round % 2 == 0);
    }
    fs::write(&path, b"not a journal at all").unwrap();
    let report = read_segment(dir.path(), seg, |_| {}).unwrap();
    assert!(matches!(
        report.damage.as_slice(),
        [Damage::Corrupt { offset: 0, .. }]
    ));
}

#[test]
fn a_kill_loses_nothing_appended() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = JournalWriter::open(dir.path()).unwrap();
    j.append(1, 1, "synced").unwrap();
    j.sync_now().unwrap();
    j.append(1, 2, "appended, never synced").unwrap();
    std::mem::forget(j); // SIGKILL: no destructor runs
    let (got, damage) = read_all(dir.path());
    assert_eq!(
        got,
        [
            (1, 1, "synced".to_owned()),
            (1, 2, "appended, never synced".to_owned())
        ]
    );
    assert_eq!(damage, [Vec::<Damage>::new()]);
}

/// The rows of the dataset as a sorted multiset.
fn dataset(out: &Path) -> Vec<OwnedTick> {
    let mut all: Vec<OwnedTick> = read_dataset(out)
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).unwrap())
        .collect();
    all.sort_by(|a, b| (&a.symbol, a.event_time).cmp(&(&b.symbol, b.event_time)));
    all
}

/// A plausible receive time for a frame: its first event's time.
fn received(frame: &str) -> i64 {
    let mut scratch = Vec::new();
    decode_frame(frame, &mut scratch).unwrap();
    scratch[0].event_time
}

/// What the live recorder does with frames: journal, decode, buffer.
fn ingest(j: &mut JournalWriter, buf: &mut TickBuffer, frames: &[String]) -> usize {
    let mut scratch = Vec::new();
    for f in frames {
        j.append(1, received(f), f).unwrap();
        decode_frame(f, &mut scratch).unwrap();
        for t in &scratch {
            buf.push(&record::as_tick(t));
        }
    }
    buf.len()
}

#[test]
fn crash_between_publish_and_delete_duplicates_nothing() {
    let out = tempfile::tempdir().unwrap();
    let jdir = journal::dir(out.path());
    // Two checkpoints' worth, spanning midnight so that a checkpoint writes two files.
    let midnight = 1_704_067_200_000;
    let (first, second) = (
        frames(midnight - 200_000, 60),
        frames(midnight - 20_000, 40),
    );
    let mut live = TickBuffer::new();
    let mut writer = DatasetWriter::new(out.path());
    let (mut j, _) = JournalWriter::open(&jdir).unwrap();
    let events = ingest(&mut j, &mut live, &first);
    let seg = j.rotate().unwrap();
    writer
        .write_checkpoint_with(&live, at(midnight + 10_000), &[segments_metadata(&[seg])])
        .unwrap();
    live.clear();
    // Crash here: published, segment not deleted. Then the second segment is written and
    // only half "published": the file of one date is there, the other is not.
    let total = events + ingest(&mut j, &mut live, &second);
    j.sync_now().unwrap();
    let mut half = TickBuffer::new();
    let batches = live.to_batches().unwrap();
    assert_eq!(batches.len(), 2, "the second checkpoint spans midnight");
    let (_, first_date) = &batches[0];
    rows(first_date)
        .unwrap()
        .iter()
        .for_each(|r| half.push(&r.as_tick()));
    let live_seg = j.current();
    writer
        .write_checkpoint_with(
            &half,
            at(midnight + 90_000),
            &[segments_metadata(&[live_seg])],
        )
        .unwrap();
    drop(j);
    assert!(dataset(out.path()).len() < total);

    let (j, leftovers) = JournalWriter::open(&jdir).unwrap();
    assert_eq!(leftovers, [seg, live_seg]);
    let saved: Vec<_> = leftovers
        .iter()
        .map(|s| fs::read(jdir.join(s.file_name())).unwrap())
        .collect();
    let report = replay(out.path(), &leftovers, at(midnight + 120_000), false).unwrap();
    assert_eq!(report.rows_already_published as usize, events + half.len());
    assert_eq!(report.rows_written, total - events - half.len());
    assert_eq!(report.malformed_frames, 0);
    assert!(report.segments.iter().all(|s| s.damage.is_empty()));
    assert_eq!(
        journal::segments(&jdir).unwrap(),
        [j.current()],
        "replayed segments deleted"
    );

    // Every event exactly once: the dataset equals a clean write of everything.
    let clean_dir = tempfile::tempdir().unwrap();
    let mut all = TickBuffer::new();
    let (mut scratch_journal, _) = JournalWriter::open(clean_dir.path().join("j")).unwrap();
    ingest(&mut scratch_journal, &mut all, &[first, second].concat());
    DatasetWriter::new(clean_dir.path())
        .write_checkpoint(&all, Utc::now())
        .unwrap();
    assert_eq!(dataset(out.path()), dataset(clean_dir.path()));

    // A crash after the replay published, before it deleted: replaying again adds nothing.
    for (s, data) in leftovers.iter().zip(&saved) {
        fs::write(jdir.join(s.file_name()), data).unwrap();
    }
    let again = replay(out.path(), &leftovers, Utc::now(), false).unwrap();
    assert_eq!(
        (again.rows_written, again.rows_already_published as usize),
        (0, total)
    );
    assert_eq!(dataset(out.path()), dataset(clean_dir.path()));
}

#[test]
fn replay_after_a_crash_before_publish_writes_everything_once() {
    let out = tempfile::tempdir().unwrap();
    let jdir = journal::dir(out.path());
    let frames = frames(1_700_000_000_000, 20);
    let (mut j, _) = JournalWriter::open(&jdir).unwrap();
    let mut live = TickBuffer::new();
    let events = ingest(&mut j, &mut live, &frames);
    // A redundant connection delivered the same frames again.
    for f in &frames {
        j.append(2, received(f), f).unwrap();
    }
    j.append(2, 0, "[{\"broken").unwrap();
    drop(j); // crash: nothing published
    let (_j, leftovers) = JournalWriter::open(&jdir).unwrap();
    let report = replay(out.path(), &leftovers, Utc::now(), true).unwrap();
    assert_eq!(
        (report.rows_written, report.duplicates as usize),
        (events, events)
    );
    assert_eq!(report.malformed_frames, 1);
    assert_eq!(dataset(out.path()).len(), events);
}

#[test]
fn close_deletes_an_empty_segment_and_keeps_a_written_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = JournalWriter::open(dir.path()).unwrap();
    j.append(1, 1, "published").unwrap();
    let closed = j.rotate().unwrap();
    j.remove(closed).unwrap();
    j.close().unwrap();
    assert!(
        journal::segments(dir.path()).unwrap().is_empty(),
        "clean shutdown leaves nothing"
    );

    let (mut j, _) = JournalWriter::open(dir.path()).unwrap();
    j.append(1, 2, "not yet published").unwrap();
    let current = j.current();
    j.close().unwrap();
    let (got, _) = read_all(dir.path());
    assert_eq!(got, [(1, 2, "not yet published".to_owned())]);
    assert_eq!(journal::segments(dir.path()).unwrap(), [current]);
}

#[test]
fn a_flipped_byte_mid_segment_loses_only_that_record_and_is_quarantined() {
    let out = tempfile::tempdir().unwrap();
    let jdir = journal::dir(out.path());
    let (mut j, _) = JournalWriter::open(&jdir).unwrap();
    let frames = frames(1_700_000_000_000, 5);
    for (i, f) in frames.iter().enumerate() {
        j.append(1, 1_700_000_000_000 + 1000 * i as i64, f).unwrap();
    }
    j.sync_now().unwrap();
    let seg = j.rotate().unwrap();
    drop(j);
    let mut offsets = Vec::new();
    read_segment(&jdir, seg, |r| offsets.push(r.offset as usize)).unwrap();
    let path = jdir.join(seg.file_name());
    let mut data = fs::read(&path).unwrap();
    // One byte in the middle of the third record's frame text.
    let (start, end) = (offsets[2], offsets[3]);
    data[(start + end) / 2] ^= 0x20;
    fs::write(&path, &data).unwrap();

    let mut got = Vec::new();
    read_segment(&jdir, seg, |r| got.push(r.frame.to_owned())).unwrap();
    let expected: Vec<String> = [0, 1, 3, 4].iter().map(|&i| frames[i].clone()).collect();
    assert_eq!(got, expected, "only the damaged record is lost");

    // Replay writes the other four and keeps the damaged bytes aside.
    let (_j, leftovers) = JournalWriter::open(&jdir).unwrap();
    let report = replay(out.path(), &leftovers, Utc::now(), false).unwrap();
    let mut scratch = Vec::new();
    let want: usize = expected
        .iter()
        .map(|f| {
            decode_frame(f, &mut scratch).unwrap();
            scratch.len()
        })
        .sum();
    assert_eq!(report.rows_written, want);
    let quarantine: Vec<_> = fs::read_dir(jdir.join("quarantine"))
        .expect("a quarantine directory")
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(quarantine, [data[start..end].to_vec()]);
}

/// One run of the recorder over the journal directory `jdir`: journal and buffer `frames`,
/// then either a clean stop (a checkpoint tagged with the segment, the segment deleted, the
/// journal closed) or a crash (synced, nothing published). Returns the events it read.
fn run_once(out: &Path, jdir: &Path, frames: &[String], crash: bool) -> usize {
    let (mut j, leftovers) = JournalWriter::open(jdir).unwrap();
    let dataset = dataset::Dataset::local(out);
    journal::replay_into(&dataset, jdir, &leftovers, Utc::now(), true).unwrap();
    let mut live = TickBuffer::new();
    let events = ingest(&mut j, &mut live, frames);
    if crash {
        j.sync_now().unwrap();
        return events; // SIGKILL: the segment stays, nothing of this run is published
    }
    let seg = j.rotate().unwrap();
    DatasetWriter::new(out)
        .write_checkpoint_with(&live, Utc::now(), &[segments_metadata(&[seg])])
        .unwrap();
    j.remove(seg).unwrap();
    j.close().unwrap();
    events
}

/// Issue 20: a crash after a clean stop lost the whole crashed run. After a clean stop the
/// journal directory is empty; segment numbers restarted at 0, so the crashed run's segment
/// 0 looked published by the first run's file (tagged with segment 0 too) and its replay
/// wrote nothing. Every sequence of clean stops and crashes on one date partition, from one
/// journal directory or two (a recorder taking over from another one), must end with every
/// event exactly once.
#[test]
fn clean_stops_and_crashes_in_any_order_lose_and_duplicate_nothing() {
    let out = tempfile::tempdir().unwrap();
    let (jdir_a, jdir_b) = (out.path().join("_journal"), out.path().join("_journal_b"));
    // (journal directory, crash?) per run; each run reads its own minutes of one day.
    let runs = [
        (&jdir_a, false),
        (&jdir_a, true),
        (&jdir_a, false),
        (&jdir_b, true),
        (&jdir_a, true),
        (&jdir_a, true),
        (&jdir_b, false),
        (&jdir_a, false),
    ];
    let day = 1_704_067_200_000;
    let mut all = Vec::new();
    for (i, &(jdir, crash)) in runs.iter().enumerate() {
        let frames = frames(day + 600_000 * i as i64, 5);
        run_once(out.path(), jdir, &frames, crash);
        all.extend(frames);
    }
    // Both journals replayed by a last start of each (their clean stop publishes nothing).
    for jdir in [&jdir_a, &jdir_b] {
        run_once(out.path(), jdir, &[], false);
        assert_eq!(journal::segments(jdir).unwrap(), [], "{}", jdir.display());
    }
    let clean_dir = tempfile::tempdir().unwrap();
    let mut every = TickBuffer::new();
    let (mut scratch_journal, _) = JournalWriter::open(clean_dir.path().join("j")).unwrap();
    ingest(&mut scratch_journal, &mut every, &all);
    DatasetWriter::new(clean_dir.path())
        .write_checkpoint(&every, Utc::now())
        .unwrap();
    assert_eq!(dataset(out.path()), dataset(clean_dir.path()));
}

/// Legacy segments (`segment_<20 digits>.wal`, written before segments named their run)
/// still replay, and files tagged with a bare number still count as publishing them.
#[test]
fn legacy_segments_replay_against_legacy_tags() {
    let out = tempfile::tempdir().unwrap();
    let jdir = journal::dir(out.path());
    let frames = frames(1_700_000_000_000, 6);
    // A recorder of the earlier naming: its segment 0 published and tagged "0", segment 1 not.
    let (mut j, _) = JournalWriter::open(&jdir).unwrap();
    let mut published = TickBuffer::new();
    let events = ingest(&mut j, &mut published, &frames[..3]);
    let rest = ingest(&mut j, &mut TickBuffer::new(), &frames[3..]);
    j.sync_now().unwrap();
    let current = j.current();
    drop(j);
    let data = fs::read(jdir.join(current.file_name())).unwrap();
    fs::remove_file(jdir.join(current.file_name())).unwrap();
    // Split the one segment into two legacy segments at the fourth record.
    let cut = nth_record_offset(&data, 3);
    let legacy = |seq| SegmentId::new(RunId::LEGACY, seq);
    fs::write(jdir.join(legacy(0).file_name()), &data[..cut]).unwrap();
    let mut second = journal::MAGIC.to_vec();
    second.extend_from_slice(&data[cut..]);
    fs::write(jdir.join(legacy(1).file_name()), second).unwrap();
    DatasetWriter::new(out.path())
        .write_checkpoint_with(&published, Utc::now(), &[dataset::segments_tag(&[0u64])])
        .unwrap();
    let (_j, leftovers) = JournalWriter::open(&jdir).unwrap();
    assert_eq!(leftovers, [legacy(0), legacy(1)]);
    let report = replay(out.path(), &leftovers, Utc::now(), false).unwrap();
    assert_eq!(
        (report.rows_already_published as usize, report.rows_written),
        (events, rest)
    );
    assert_eq!(dataset(out.path()).len(), events + rest);
}

/// The byte offset of record `n` (from 0) of a current-format segment.
fn nth_record_offset(data: &[u8], n: usize) -> usize {
    let mut at = journal::MAGIC.len();
    for _ in 0..n {
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 12 + len;
    }
    at
}
