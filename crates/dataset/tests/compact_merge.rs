//! The merge behind compaction: exactly the order of a full in-memory sort, within its
//! memory bound in each pass, and an unsorted part leaves its hour alone.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{at, copy_dir, dataset, hidden_files, HOUR, T0};
use dataset::{compact_closed_hours, compact_closed_hours_with, MergeLimits};
use dataset::{list_files, read_file, rows, DatasetWriter, OwnedTick, Tick, TickBuffer};

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
        let tag = [dataset::segments_tag(&[part as u64])];
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
    let covered = dataset::Dataset::local(out.path())
        .published_segments("date=2024-01-01")
        .unwrap();
    assert!(
        (0..30).all(|s: u32| covered.contains(&s.to_string())),
        "{covered:?}"
    );
    let bound = 31 * dataset::MERGE_BATCH_ROWS;
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
        let report = compact_closed_hours_with(
            &dataset::Dataset::local(&out),
            later,
            Duration::ZERO,
            None,
            limits,
        )
        .unwrap();
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
    let dataset_ = dataset::Dataset::local(out.path());
    let unsorted = unsorted_batch(&[("B", T0 + 2), ("A", T0 + 1)]);
    let props = dataset::writer_properties();
    let name = || "miniticker_20240101_223000_999999.parquet".to_owned();
    dataset::write_new_file(&dataset_, "date=2024-01-01", name, &unsorted, &props, &[]).unwrap();
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
    arrow_array::RecordBatch::try_new(dataset::schema(), columns).unwrap()
}
