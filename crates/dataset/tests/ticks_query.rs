//! Reader filters: a symbol and a time range read only the partitions, files and row
//! groups that can hold them (asserted on the counts the reader reports), on a local
//! directory and on an object store, and return exactly the rows a full scan filters to.

use std::path::Path;
use std::sync::Arc;

use dataset::{rows, Dataset, DatasetWriter, OwnedTick, Query, Tick, TickBuffer};

/// 2024-01-01T00:00:00Z.
const D0: i64 = 1_704_067_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const SYMBOLS: usize = 20;
const PER_SYMBOL: i64 = 300;
const ROW_GROUP: usize = 1000;

/// Two days of four hours each, one file per hour holding 20 symbols x 300 events of that
/// hour, cut into row groups of 1,000 rows (6 per file; a symbol's 300 rows sit in one).
fn build(dataset: &Dataset) {
    let mut w = DatasetWriter::for_dataset(dataset.clone()).with_row_group_rows(ROW_GROUP);
    for day in 0..2 {
        for hour in 0..4 {
            let start = D0 + day * DAY + hour * HOUR;
            let mut buf = TickBuffer::new();
            for s in 0..SYMBOLS {
                let symbol = format!("S{s:02}USDT");
                for k in 0..PER_SYMBOL {
                    let v = (s as i64 * 1000 + k) as f64;
                    buf.push(&Tick {
                        symbol: &symbol,
                        event_time: start + k * 10_000,
                        close: v,
                        open: v,
                        high: v,
                        low: v,
                        base_volume: v,
                        quote_volume: v,
                    });
                }
            }
            let now = chrono::DateTime::from_timestamp_millis(start + HOUR - 1).unwrap();
            let files = w.write_checkpoint(&buf, now).unwrap();
            assert_eq!(files.len(), 1);
        }
    }
}

fn all_rows(batches: &[arrow_array::RecordBatch]) -> Vec<OwnedTick> {
    batches.iter().flat_map(|b| rows(b).unwrap()).collect()
}

fn check(dataset: &Dataset) {
    build(dataset);
    let everything = all_rows(&dataset.read_all().unwrap());
    assert_eq!(everything.len(), 2 * 4 * SYMBOLS * PER_SYMBOL as usize);

    // One symbol for one hour (day 1, 02:00-03:00).
    let start = D0 + DAY + 2 * HOUR;
    let q = Query::all().symbol("S07USDT").between(start, start + HOUR);
    let (batches, stats) = dataset.read(&q).unwrap();
    let got = all_rows(&batches);
    let want: Vec<OwnedTick> = (everything.iter())
        .filter(|t| q.wants(&t.symbol, t.event_time))
        .cloned()
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), PER_SYMBOL as usize);
    assert_eq!(
        stats.files_listed, 4,
        "only day 1's partition is listed: {stats:?}"
    );
    assert_eq!(stats.files_opened, 4, "{stats:?}");
    assert_eq!(
        stats.files_read, 1,
        "only the 02:00 file can hold the hour: {stats:?}"
    );
    assert_eq!(
        stats.row_groups_read, 1,
        "one row group holds S07USDT: {stats:?}"
    );
    assert_eq!(stats.row_groups_skipped, 4 * 6 - 1, "{stats:?}");
    assert_eq!(stats.rows, PER_SYMBOL as usize);

    // A symbol over the whole dataset: every file, one row group each.
    let (batches, stats) = dataset.read(&Query::all().symbol("S19USDT")).unwrap();
    assert_eq!(all_rows(&batches).len(), 8 * PER_SYMBOL as usize);
    assert_eq!(
        (stats.files_listed, stats.files_read, stats.row_groups_read),
        (8, 8, 8)
    );

    // A time range crossing midnight, all symbols.
    let q = Query::all().between(D0 + 3 * HOUR + 30 * 60_000, D0 + DAY + 30 * 60_000);
    let (batches, stats) = dataset.read(&q).unwrap();
    let want = (everything.iter())
        .filter(|t| q.wants(&t.symbol, t.event_time))
        .count();
    assert_eq!(all_rows(&batches).len(), want);
    assert_eq!(
        stats.files_read, 2,
        "03:00 of day 0 and 00:00 of day 1: {stats:?}"
    );

    // A symbol that is not there reads no row group at all.
    let (batches, stats) = dataset.read(&Query::all().symbol("NOPE")).unwrap();
    assert!(batches.is_empty());
    assert_eq!((stats.files_read, stats.row_groups_read), (0, 0));

    // Per-symbol frames of a filtered read.
    let frames = dataset
        .read_by_symbol(&Query::all().symbol("S01USDT").symbol("S02USDT"))
        .unwrap();
    assert_eq!(frames.keys().collect::<Vec<_>>(), ["S01USDT", "S02USDT"]);
    assert_eq!(frames["S02USDT"].num_rows(), 8 * PER_SYMBOL as usize);
}

#[test]
fn one_symbol_for_one_hour_reads_only_what_can_hold_it_on_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    check(&Dataset::local(dir.path()));
}

#[test]
fn one_symbol_for_one_hour_reads_only_what_can_hold_it_on_an_object_store() {
    let dir = tempfile::tempdir().unwrap();
    check(&object_dataset(dir.path()));
}

fn object_dataset(dir: &Path) -> Dataset {
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap();
    let spool = dir.join("spool");
    Dataset::object(Arc::new(fs), "bucket/ticks", "file://bucket/ticks").with_spool(spool)
}
