//! Compaction: one file per closed hour, and a kill at any step loses and duplicates nothing.
//! (The merge itself, its order and its memory bound: `compact_merge.rs`.)

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{at, copy_dir, dataset, hidden_files, HOUR, T0};
use dataset::{
    compact_closed_hours, compact_closed_hours_until, recover, StopAfter, COMPACTED_FROM_KEY,
};
use dataset::{list_files, read_file, rows, DatasetWriter, Tick, TickBuffer};

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
        w.write_checkpoint_with(&buf, at(stamp), &[dataset::segments_tag(&[i as u64])])
            .unwrap();
    }
}

fn now() -> DateTime<Utc> {
    at(T0 + 2 * HOUR + 50 * 60_000)
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
    let covered = dataset::Dataset::local(out.path())
        .published_segments("date=2024-01-01")
        .unwrap();
    assert!(
        (0..12).all(|s: u32| covered.contains(&s.to_string())),
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
