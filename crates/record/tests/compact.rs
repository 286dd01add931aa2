//! Compaction: one file per closed hour, and a kill at any step loses and duplicates nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use record::compact::{
    compact_closed_hours, compact_closed_hours_until, compact_closed_hours_with, recover,
    MergeLimits, StopAfter, COMPACTED_FROM_KEY,
};
use record::journal::{published_segments, segments_metadata, SegmentId};
use store::ticks::{
    list_files, read_dataset, read_file, rows, DatasetWriter, OwnedTick, Tick, TickBuffer,
};

const HOUR: i64 = 3_600_000;
/// 2024-01-01 22:00:00 UTC.
const T0: i64 = 1_704_146_400_000;

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// Checkpoints every 10 minutes from 22:00 to 00:40 (so hours 22 and 23 are closed, and
/// 00 of the next day is open at `T0 + 2h50m`), each tagged with a journal segment; rows
/// in both date partitions around midnight.
fn build(out: &Path) {
    let mut w = DatasetWriter::new(out);
    for (i, minute) in (0..160).step_by(10).enumerate() {
        let stamp = T0 + minute * 60_000;
        let mut buf = TickBuffer::new();
        for s in 0..12 {
            for k in 0..5 {
                let time = stamp - 600_000 + k * 120_000 + s;
                let price = (s * 100 + k) as f64 + 0.5;
                let symbol = format!("SYM{s:02}USDT");
                buf.push(&Tick {
                    symbol: &symbol,
                    event_time: time,
                    close: price,
                    open: price,
                    high: price,
                    low: price,
                    base_volume: k as f64,
                    quote_volume: price * 2.0,
                });
            }
        }
        w.write_checkpoint_with(
            &buf,
            at(stamp),
            &[segments_metadata(&[SegmentId(i as u64)])],
        )
        .unwrap();
    }
}

fn now() -> DateTime<Utc> {
    at(T0 + 2 * HOUR + 50 * 60_000)
}

fn dataset(out: &Path) -> Vec<OwnedTick> {
    let mut all: Vec<OwnedTick> = read_dataset(out)
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).unwrap())
        .collect();
    all.sort_by(|a, b| {
        (&a.symbol, a.event_time)
            .partial_cmp(&(&b.symbol, b.event_time))
            .unwrap()
    });
    all
}

/// Number of visible files per (partition, hour stamp) group.
fn files_per_hour(out: &Path) -> BTreeMap<(String, String), usize> {
    let mut groups = BTreeMap::new();
    for path in list_files(out).unwrap() {
        let partition = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        *groups
            .entry((partition, name[11..22].to_owned()))
            .or_insert(0) += 1;
    }
    groups
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn hidden_files(out: &Path) -> usize {
    fs::read_dir(out)
        .unwrap()
        .flat_map(|d| fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}

#[test]
fn closed_hours_become_one_sorted_file_each() {
    let out = tempfile::tempdir().unwrap();
    build(out.path());
    let before = dataset(out.path());
    let groups = files_per_hour(out.path());
    let report = compact_closed_hours(out.path(), now(), Duration::from_secs(300)).unwrap();
    assert_eq!(report.rows, before.len() - rows_of_open_hour(out.path()));
    assert_eq!(dataset(out.path()), before);
    let after = files_per_hour(out.path());
    for (group, count) in &after {
        let open = group.1 == "20240102_00";
        assert_eq!(*count, if open { groups[group] } else { 1 }, "{group:?}");
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        groups.keys().collect::<Vec<_>>()
    );
    for merged in &report.merged {
        let batches = read_file(merged).unwrap();
        let keys: Vec<_> = batches
            .iter()
            .flat_map(|b| rows(b).unwrap())
            .map(|r| (r.symbol, r.event_time))
            .collect();
        assert!(
            keys.is_sorted(),
            "{} is sorted by (symbol, event_time)",
            merged.display()
        );
    }
    // Journal tags survive: every segment of a closed hour is still covered.
    let covered = published_segments(&out.path().join("date=2024-01-01")).unwrap();
    assert!(
        (0..12).all(|s| covered.contains(&SegmentId(s))),
        "{covered:?}"
    );
    // A second pass has nothing to do.
    let again = compact_closed_hours(out.path(), now(), Duration::from_secs(300)).unwrap();
    assert!(again.merged.is_empty());
    assert_eq!(hidden_files(out.path()), 0);
}

/// Rows in files of the open hour (00 of 2024-01-02).
fn rows_of_open_hour(out: &Path) -> usize {
    list_files(out)
        .unwrap()
        .iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("_20240102_00")
        })
        .map(|p| {
            read_file(p)
                .unwrap()
                .iter()
                .map(|b| b.num_rows())
                .sum::<usize>()
        })
        .sum()
}

#[test]
fn compact_after_delays_the_hour() {
    let out = tempfile::tempdir().unwrap();
    build(out.path());
    // At 00:50 with a 1-hour delay, hour 22 (23:00 + 1h <= 00:50) is closed, hour 23 is not.
    let report = compact_closed_hours(out.path(), now(), Duration::from_secs(3600)).unwrap();
    assert_eq!(report.merged.len(), 1, "only hour 22");
    assert!(report.merged[0]
        .to_string_lossy()
        .contains("miniticker_20240101_220000_h000000"));
}

#[test]
fn interrupted_at_each_step_then_recovered_loses_and_duplicates_nothing() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let before = dataset(base.path());
    for stop in [
        StopAfter::WroteTmp,
        StopAfter::Published,
        StopAfter::RemovedSome,
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("data");
        copy_dir(base.path(), &out);
        compact_closed_hours_until(&out, now(), Duration::from_secs(300), Some(stop)).unwrap();
        let leftovers = hidden_files(&out);
        assert_eq!(
            leftovers,
            usize::from(stop != StopAfter::RemovedSome),
            "{stop:?}: temp file left"
        );
        // "Restart": recovery first, then the rows are exactly the original ones.
        let rec = recover(&out).unwrap();
        assert_eq!(rec.tmp_removed, leftovers, "{stop:?}");
        assert_eq!(
            rec.parts_removed > 0,
            stop != StopAfter::WroteTmp,
            "{stop:?}"
        );
        assert_eq!(hidden_files(&out), 0);
        assert_eq!(dataset(&out), before, "{stop:?}: after recovery");
        // Compaction then finishes the job: one file per closed hour, same rows.
        compact_closed_hours(&out, now(), Duration::from_secs(300)).unwrap();
        assert_eq!(dataset(&out), before, "{stop:?}: after compaction");
        let per_hour = files_per_hour(&out);
        assert!(
            per_hour
                .iter()
                .all(|((_, hour), n)| *n == 1 || hour == "20240102_00"),
            "{stop:?}: {per_hour:?}"
        );
        assert_eq!(
            recover(&out).unwrap(),
            Default::default(),
            "nothing left to recover"
        );
    }
}

#[test]
fn a_late_file_of_a_compacted_hour_is_merged_with_it() {
    let out = tempfile::tempdir().unwrap();
    build(out.path());
    compact_closed_hours(out.path(), now(), Duration::from_secs(300)).unwrap();
    let mut buf = TickBuffer::new();
    buf.push(&Tick {
        symbol: "LATEUSDT",
        event_time: T0 + 5_000,
        close: 1.0,
        open: 1.0,
        high: 1.0,
        low: 1.0,
        base_volume: 1.0,
        quote_volume: 1.0,
    });
    DatasetWriter::new(out.path())
        .write_checkpoint(&buf, at(T0 + 30 * 60_000))
        .unwrap();
    let before = dataset(out.path());
    let report = compact_closed_hours(out.path(), now(), Duration::from_secs(300)).unwrap();
    assert_eq!(report.merged.len(), 1);
    assert_eq!(dataset(out.path()), before);
    assert_eq!(
        files_per_hour(out.path())[&("date=2024-01-01".to_owned(), "20240101_22".to_owned())],
        1
    );
    // Its footer lists both parts, the earlier merged file included.
    let path = &report.merged[0];
    let reader =
        parquet::file::reader::SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    use parquet::file::reader::FileReader;
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let parts = kv
        .iter()
        .find(|kv| kv.key == COMPACTED_FROM_KEY)
        .unwrap()
        .value
        .clone()
        .unwrap();
    assert!(
        parts.contains("_h000000.parquet") && parts.split(',').count() == 2,
        "{parts}"
    );
}

/// Writes `parts` checkpoints of hour 22, `per_part` random rows each over `symbols` symbols
/// (times spread over the whole hour, so parts overlap), plus in every part a row
/// (`DUP`, T0 + 1) whose close is the part's index; returns what an in-memory merge gives:
/// the parts' rows in name order, stably sorted by (symbol, event_time).
fn random_parts(out: &Path, parts: i64, per_part: usize, symbols: u64) -> Vec<OwnedTick> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state >> 33
    };
    let mut w = DatasetWriter::new(out);
    for part in 0..parts {
        let mut buf = TickBuffer::new();
        let dup = OwnedTick {
            symbol: "DUP".into(),
            event_time: T0 + 1,
            close: part as f64,
            open: 0.0,
            high: 0.0,
            low: 0.0,
            base_volume: 0.0,
            quote_volume: 0.0,
        };
        buf.push(&dup.as_tick());
        for _ in 0..per_part {
            let symbol = format!("S{}", next() % symbols); // S1 < S10 < S100 < S11 …
            let time = T0 + (next() % HOUR as u64) as i64;
            let v = next() as f64 / 7.0;
            buf.push(&Tick {
                symbol: &symbol,
                event_time: time,
                close: v,
                open: v + 1.0,
                high: v + 2.0,
                low: v - 1.0,
                base_volume: part as f64,
                quote_volume: v * 3.0,
            });
        }
        let tag = [segments_metadata(&[SegmentId(part as u64)])];
        w.write_checkpoint_with(&buf, at(T0 + part * 60_000 + 30_000), &tag)
            .unwrap();
    }
    let mut all: Vec<OwnedTick> = list_files(out)
        .unwrap()
        .iter()
        .flat_map(|p| read_file(p).unwrap())
        .flat_map(|b| rows(&b).unwrap())
        .collect();
    all.sort_by(|a, b| (&a.symbol, a.event_time).cmp(&(&b.symbol, b.event_time)));
    all
}

fn file_rows(path: &Path) -> Vec<OwnedTick> {
    let batches = read_file(path).unwrap();
    batches.iter().flat_map(|b| rows(b).unwrap()).collect()
}

#[test]
fn many_parts_merge_exactly_like_a_full_in_memory_sort() {
    let out = tempfile::tempdir().unwrap();
    let expected = random_parts(out.path(), 30, 20_000, 300);
    assert_eq!(expected.len(), 30 * 20_001);
    let report =
        compact_closed_hours(out.path(), at(T0 + 2 * HOUR), Duration::from_secs(300)).unwrap();
    assert_eq!(
        (report.merged.len(), report.parts_removed, report.rows),
        (1, 30, expected.len())
    );
    assert_eq!(list_files(out.path()).unwrap(), report.merged);
    // Same multiset, same order, duplicates of a (symbol, event_time) in part order.
    let merged = file_rows(&report.merged[0]);
    assert!(merged == expected, "merged rows differ from a full sort");
    let dups = merged.iter().filter(|r| r.symbol == "DUP").map(|r| r.close);
    assert_eq!(
        dups.collect::<Vec<_>>(),
        (0..30).map(f64::from).collect::<Vec<_>>()
    );
    let covered = published_segments(&out.path().join("date=2024-01-01")).unwrap();
    assert!(
        (0..30).all(|s| covered.contains(&SegmentId(s))),
        "{covered:?}"
    );
    let bound = 31 * record::compact::MERGE_BATCH_ROWS;
    assert!(report.peak_buffered_rows <= bound, "{report:?}");
    assert_eq!(hidden_files(out.path()), 0);
}

#[test]
fn the_merge_holds_at_most_one_batch_per_input_plus_one_in_each_pass() {
    let base = tempfile::tempdir().unwrap();
    let (parts, rows) = (12, 3_000);
    let expected = random_parts(base.path(), parts, rows, 50);
    // (batch rows, fan-in, passes): 12 parts -> 6 -> 3 -> 2 -> 1 with a fan-in of 2.
    let cases = [
        (1, 64, 1),
        (7, 64, 1),
        (256, 64, 1),
        (100_000, 64, 1),
        (256, 2, 4),
        (7, 3, 3),
        (256, 5, 2),
    ];
    for (batch_rows, fan_in, passes) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("data");
        copy_dir(base.path(), &out);
        let later = at(T0 + 2 * HOUR);
        let limits = MergeLimits { batch_rows, fan_in };
        let report = compact_closed_hours_with(&out, later, Duration::ZERO, None, limits).unwrap();
        let case = format!("batch_rows {batch_rows}, fan_in {fan_in}");
        assert_eq!(report.rows, expected.len(), "{case}");
        assert!(file_rows(&report.merged[0]) == expected, "{case}");
        assert_eq!(hidden_files(&out), 0, "{case}: intermediate files left");
        assert_eq!(report.merge_passes, passes, "{case}");
        let peak = report.peak_buffered_rows;
        let bound = (fan_in.min(parts as usize) + 1) * batch_rows;
        assert!(peak <= bound, "{case}: {peak} rows held > {bound}");
        assert!(
            peak >= batch_rows.min(rows),
            "{case}: {peak} (counter broken?)"
        );
    }
}

#[test]
fn an_unsorted_part_leaves_its_hour_uncompacted() {
    let out = tempfile::tempdir().unwrap();
    random_parts(out.path(), 2, 100, 5);
    let dir = out.path().join("date=2024-01-01");
    let unsorted = unsorted_batch(&[("B", T0 + 2), ("A", T0 + 1)]);
    let props = store::ticks::writer_properties();
    let name = || "miniticker_20240101_223000_999999.parquet".to_owned();
    store::ticks::write_new_file(&dir, name, &unsorted, &props, &[]).unwrap();
    let before = dataset(out.path());
    let files = list_files(out.path()).unwrap();
    let report = compact_closed_hours(out.path(), at(T0 + 2 * HOUR), Duration::ZERO).unwrap();
    assert!(report.merged.is_empty(), "{report:?}");
    assert_eq!(list_files(out.path()).unwrap(), files);
    assert_eq!(dataset(out.path()), before);
    assert_eq!(hidden_files(out.path()), 0);
}

/// A batch of the tick schema with `rows` in the given (possibly unsorted) order.
fn unsorted_batch(rows: &[(&str, i64)]) -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, TimestampMillisecondArray};
    use std::sync::Arc;
    let symbols: DictionaryArray<arrow_array::types::Int32Type> =
        rows.iter().map(|r| r.0).collect();
    let times: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(symbols),
        Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC")),
    ];
    columns.extend((0..6).map(|_| Arc::new(Float64Array::from(vec![1.0; rows.len()])) as _));
    arrow_array::RecordBatch::try_new(store::ticks::schema(), columns).unwrap()
}
