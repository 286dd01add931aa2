//! The object-store backend of `dataset::Dataset` against a real S3-compatible server
//! (`sim::s3::S3Server`: moto_server on 127.0.0.1, honouring `If-None-Match: *`):
//! checkpoints, name clashes, an outage, compaction with a kill and its recovery, the gaps
//! dataset, and filtered reads with their counts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dataset::gaps::{compact_closed_days_of, read_gaps_of, Gap, GapWriter};
use dataset::location::S3Config;
use dataset::{
    compact_closed_hours_with, rows, Dataset, DatasetWriter, MergeLimits, OwnedTick, Query,
    StopAfter, Tick, TickBuffer,
};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use sim::s3::S3Server;

/// 2024-01-01T00:00:00Z.
const D0: i64 = 1_704_067_200_000;
const HOUR: i64 = 3_600_000;

fn server() -> S3Server {
    S3Server::start().expect("S3 test server (run scripts/setup-test-env.sh)")
}

fn store_of(s3: &S3Server) -> Arc<dyn ObjectStore> {
    S3Config::from_vars(s3.bucket(), |name| s3.var(name))
        .unwrap()
        .build()
        .unwrap()
}

fn dataset(s3: &S3Server, prefix: &str, spool: &std::path::Path) -> Dataset {
    Dataset::object(store_of(s3), prefix, s3.url(prefix)).with_spool(spool)
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// One checkpoint's rows: `symbols` symbols, `per` events each from `start`, 1 s apart.
fn buffer(start: i64, symbols: usize, per: i64) -> TickBuffer {
    let mut buf = TickBuffer::new();
    for s in 0..symbols {
        let symbol = format!("S{s:02}USDT");
        for k in 0..per {
            let v = (s as i64 * 10_000 + k) as f64 + 0.25;
            buf.push(&Tick {
                symbol: &symbol,
                event_time: start + k * 1000,
                close: v,
                open: v,
                high: v,
                low: v,
                base_volume: v,
                quote_volume: v,
            });
        }
    }
    buf
}

fn sorted(mut rows: Vec<OwnedTick>) -> Vec<OwnedTick> {
    rows.sort_by(|a, b| (&a.symbol, a.event_time).cmp(&(&b.symbol, b.event_time)));
    rows
}

fn all(ds: &Dataset) -> Vec<OwnedTick> {
    sorted(
        ds.read_all()
            .unwrap()
            .iter()
            .flat_map(|b| rows(b).unwrap())
            .collect(),
    )
}

fn objects(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let list = rt.block_on(async {
        use futures::TryStreamExt;
        store
            .list(Some(&Key::from(prefix)))
            .try_collect::<Vec<_>>()
            .await
    });
    let mut keys: Vec<String> = list
        .unwrap()
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    keys.sort();
    keys
}

#[test]
fn checkpoints_clashes_and_an_outage_lose_and_duplicate_nothing() {
    let mut s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let ds = dataset(&s3, "ck", spool.path());
    let store = store_of(&s3);
    // Someone else's object holds the name the writer takes first: it must not be replaced.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let taken = Key::from("ck/date=2024-01-01/miniticker_20240101_000100_000000.parquet");
    rt.block_on(store.put(&taken, "not ours".into())).unwrap();

    let mut w = DatasetWriter::for_dataset(ds.clone());
    let mut want = Vec::new();
    let first = buffer(D0, 5, 30);
    let files = w.write_checkpoint(&first, at(D0 + 60_000)).unwrap();
    assert_eq!(files.len(), 1);
    let file = files[0].to_string_lossy().into_owned();
    assert!(file.starts_with("s3://"), "{file}");
    assert!(
        file.ends_with("miniticker_20240101_000100_000001.parquet"),
        "{file}"
    );
    let kept = rt.block_on(async { store.get(&taken).await.unwrap().bytes().await.unwrap() });
    assert_eq!(
        &kept[..],
        b"not ours",
        "a name clash never replaces an object"
    );
    rt.block_on(store.delete(&taken)).unwrap();
    want.extend(
        first
            .to_batches()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| rows(b).unwrap()),
    );

    // The store goes away: the checkpoint fails, the caller keeps the rows and retries.
    let second = buffer(D0 + 2 * 60_000, 5, 30);
    s3.stop();
    let err = w.write_checkpoint(&second, at(D0 + 180_000)).unwrap_err();
    assert!(err.to_string().contains("s3://"), "{err}");
    s3.restart().unwrap();
    let files = w.write_checkpoint(&second, at(D0 + 240_000)).unwrap();
    assert_eq!(files.len(), 1);
    want.extend(
        second
            .to_batches()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| rows(b).unwrap()),
    );
    assert_eq!(all(&ds), sorted(want), "every row exactly once");
    assert!(
        std::fs::read_dir(spool.path()).unwrap().next().is_none(),
        "the spool is emptied"
    );
}

#[test]
fn compaction_killed_after_publishing_is_recovered_on_an_object_store() {
    let s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let ds = dataset(&s3, "cp", spool.path());
    let mut w = DatasetWriter::for_dataset(ds.clone());
    for minute in 0..6 {
        let start = D0 + minute * 10 * 60_000;
        let tag = [dataset::segments_tag(&[minute as u64])];
        w.write_checkpoint_with(&buffer(start, 4, 20), at(start + 60_000), &tag)
            .unwrap();
    }
    let before = all(&ds);
    let later = at(D0 + 3 * HOUR);
    let limits = MergeLimits {
        batch_rows: 7,
        fan_in: 4,
    }; // two passes, small batches
    let stop = Some(StopAfter::Published);
    let report = compact_closed_hours_with(&ds, later, Duration::ZERO, stop, limits).unwrap();
    assert_eq!(report.merged.len(), 1);
    assert_eq!(report.merge_passes, 2);
    // Killed after the upload, before a part was deleted: readers see duplicates ...
    assert_eq!(all(&ds).len(), 2 * before.len());
    // ... until recovery deletes the parts the merged object lists.
    let recovered = ds.recover().unwrap();
    assert_eq!(recovered.parts_removed, 6);
    assert_eq!(all(&ds), before);
    let store = store_of(&s3);
    let keys = objects(&store, "cp");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("miniticker_20240101_000000_h000000.parquet"));
    // The merged object carries its parts' journal tags.
    assert_eq!(ds.published_segments("date=2024-01-01").unwrap().len(), 6);
    // A full pass now has nothing to do.
    let again = ds.compact_closed_hours(later, Duration::ZERO).unwrap();
    assert!(again.merged.is_empty());
}

#[test]
fn gaps_and_filtered_reads_on_an_object_store() {
    let s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let ds = dataset(&s3, "gq", spool.path());
    let mut gw = GapWriter::for_dataset(&ds);
    let gaps: Vec<Gap> = (0..3)
        .map(|i| Gap {
            start_ms: D0 + i * HOUR,
            end_ms: D0 + i * HOUR + 1_500,
            reason: format!("stall {i}").into(),
            connection_id: i as u64,
        })
        .collect();
    for (i, gap) in gaps.iter().enumerate() {
        gw.write(
            std::slice::from_ref(gap),
            at(gap.start_ms + 60_000 + i as i64),
        )
        .unwrap();
    }
    assert_eq!(read_gaps_of(&ds).unwrap(), gaps);
    let days = compact_closed_days_of(&ds, at(D0 + 24 * HOUR + 1)).unwrap();
    assert_eq!((days.merged.len(), days.parts_removed), (1, 3));
    assert_eq!(read_gaps_of(&ds).unwrap(), gaps);
    assert!(
        ds.read_all().unwrap().is_empty(),
        "ticks readers skip _gaps"
    );

    // Two hours of ticks, row groups of 20 rows (4 symbols x 10 rows each per hour).
    let mut w = DatasetWriter::for_dataset(ds.clone()).with_row_group_rows(20);
    for hour in 0..2 {
        let start = D0 + hour * HOUR;
        w.write_checkpoint(&buffer(start, 4, 10), at(start + HOUR - 1))
            .unwrap();
    }
    let q = Query::all()
        .symbol("S02USDT")
        .between(D0 + HOUR, D0 + 2 * HOUR);
    let (batches, stats) = ds.read(&q).unwrap();
    let got: Vec<OwnedTick> = batches.iter().flat_map(|b| rows(b).unwrap()).collect();
    assert_eq!(got.len(), 10);
    assert!(got
        .iter()
        .all(|t| t.symbol == "S02USDT" && t.event_time >= D0 + HOUR));
    assert_eq!(
        (stats.files_listed, stats.files_opened, stats.files_read),
        (2, 2, 1)
    );
    assert_eq!((stats.row_groups_read, stats.row_groups_skipped), (1, 3));
}
