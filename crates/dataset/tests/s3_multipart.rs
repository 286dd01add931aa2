//! Large files on an object store (`sim::s3::S3Server`, moto_server on 127.0.0.1): above the
//! multipart threshold a checkpoint goes up in parts to a hidden staging key
//! (`<prefix>/_uploads/…`) and is then copied create-only to its name (a one-part multipart
//! copy completed with `If-None-Match: *`). The thresholds are lowered (and moto's minimum
//! part size with them) so that a file of a few hundred KiB takes that path in several parts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dataset::location::S3Config;
use dataset::{rows, Dataset, DatasetWriter, OwnedTick, Tick, TickBuffer};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use sim::s3::{S3Options, S3Server};

/// 2024-01-01T00:00:00Z.
const D0: i64 = 1_704_067_200_000;
/// Part size (and multipart threshold) of the tests; moto is told to accept parts this small.
const PART: usize = 64 << 10;

fn server() -> S3Server {
    S3Server::start_with(S3Options {
        min_part_bytes: Some(PART as u64),
        ..S3Options::default()
    })
    .expect("S3 test server (run scripts/setup-test-env.sh)")
}

fn store_of(s3: &S3Server) -> Arc<dyn ObjectStore> {
    S3Config::from_vars(s3.bucket(), |name| s3.var(name))
        .unwrap()
        .build()
        .unwrap()
}

/// A dataset that uploads everything above [`PART`] bytes in parts of [`PART`].
fn multipart(s3: &S3Server, prefix: &str, spool: &std::path::Path) -> Dataset {
    Dataset::object(store_of(s3), prefix, s3.url(prefix))
        .with_spool(spool)
        .with_multipart(PART as u64, PART)
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// A checkpoint of `symbols` x `per` rows whose prices do not compress (a file of roughly
/// 40 bytes per row).
fn big_buffer(symbols: usize, per: i64) -> TickBuffer {
    let mut buf = TickBuffer::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 1_000_000_007) as f64 / 7.0
    };
    for s in 0..symbols {
        let symbol = format!("S{s:02}USDT");
        for k in 0..per {
            buf.push(&Tick {
                symbol: &symbol,
                event_time: D0 + k * 10,
                close: next(),
                open: next(),
                high: next(),
                low: next(),
                base_volume: next(),
                quote_volume: next(),
            });
        }
    }
    buf
}

fn sorted(mut rows: Vec<OwnedTick>) -> Vec<OwnedTick> {
    rows.sort_by(|a, b| (&a.symbol, a.event_time).cmp(&(&b.symbol, b.event_time)));
    rows
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

/// Every key under `prefix`, sorted.
fn keys(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let list = block(store.list(Some(&Key::from(prefix))).try_collect::<Vec<_>>()).unwrap();
    let mut keys: Vec<String> = list.into_iter().map(|m| m.location.to_string()).collect();
    keys.sort();
    keys
}

fn bytes(store: &Arc<dyn ObjectStore>, key: &str) -> bytes::Bytes {
    block(async { store.get(&Key::from(key)).await?.bytes().await }).unwrap()
}

/// moto's request lines that contain every one of `parts`.
fn requests<'a>(log: &'a str, parts: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|line| parts.iter().all(|p| line.contains(p)))
        .collect()
}

const FIRST: &str = "date=2024-01-01/miniticker_20240101_000100_000000.parquet";

#[test]
fn a_large_checkpoint_goes_up_in_parts_and_round_trips_byte_identical() {
    let s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let store = store_of(&s3);
    let buf = big_buffer(10, 1_000);
    let now = at(D0 + 60_000);

    // The same checkpoint once as one PUT (default threshold) and once in parts.
    let single =
        Dataset::object(store.clone(), "single", s3.url("single")).with_spool(spool.path());
    DatasetWriter::for_dataset(single)
        .write_checkpoint(&buf, now)
        .unwrap();
    let ds = multipart(&s3, "mp", spool.path());
    let files = DatasetWriter::for_dataset(ds.clone())
        .write_checkpoint(&buf, now)
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].to_str(),
        Some(format!("{}/{FIRST}", s3.url("mp")).as_str())
    );

    let log = s3.log();
    let parts = requests(&log, &["PUT /ticks-test/mp/_uploads/", "partNumber="]);
    let whole = bytes(&store, &format!("single/{FIRST}"));
    assert!(
        whole.len() > 3 * PART,
        "the file ({} bytes) must span several parts",
        whole.len()
    );
    assert_eq!(
        parts.len(),
        whole.len().div_ceil(PART),
        "uploaded in parts to the staging key:\n{log}"
    );
    assert_eq!(
        requests(
            &log,
            &["POST /ticks-test/mp/date=2024-01-01/", "uploadId=", " 200 "]
        )
        .len(),
        1,
        "one create-only completion of the copy:\n{log}"
    );
    assert_eq!(
        bytes(&store, &format!("mp/{FIRST}")),
        whole,
        "byte-identical to the same file uploaded in one PUT"
    );
    let want = sorted(
        buf.to_batches()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| rows(b).unwrap())
            .collect(),
    );
    let got: Vec<OwnedTick> = (ds.read_all().unwrap().iter())
        .flat_map(|b| rows(b).unwrap())
        .collect();
    assert_eq!(sorted(got), want);
    assert_eq!(
        keys(&store, "mp"),
        vec![format!("mp/{FIRST}")],
        "no staging object is left"
    );
}

#[test]
fn a_large_checkpoint_never_replaces_a_taken_name() {
    let s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let store = store_of(&s3);
    // Someone else's object holds the name the writer takes first.
    let taken = Key::from(format!("mp/{FIRST}"));
    block(store.put(&taken, "not ours".into())).unwrap();
    let etag = block(store.head(&taken)).unwrap().e_tag;

    let ds = multipart(&s3, "mp", spool.path());
    let buf = big_buffer(10, 1_000);
    let files = DatasetWriter::for_dataset(ds.clone())
        .write_checkpoint(&buf, at(D0 + 60_000))
        .unwrap();
    assert_eq!(files.len(), 1);
    let file = files[0].to_string_lossy().into_owned();
    assert!(
        file.ends_with("miniticker_20240101_000100_000001.parquet"),
        "the next free name: {file}"
    );
    let log = s3.log();
    assert_eq!(
        requests(
            &log,
            &[
                "POST /ticks-test/mp/date=2024-01-01/miniticker_20240101_000100_000000",
                "uploadId=",
                " 412 "
            ]
        )
        .len(),
        1,
        "the server refused the completion onto the taken name:\n{log}"
    );
    assert_eq!(&bytes(&store, taken.as_ref())[..], b"not ours");
    assert_eq!(
        block(store.head(&taken)).unwrap().e_tag,
        etag,
        "ETag unchanged"
    );
    block(store.delete(&taken)).unwrap(); // not Parquet: readers would refuse it
    let got: usize = ds.read_all().unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(got, buf.len(), "the rows under the next name, once");
    assert_eq!(
        keys(&store, "mp/_uploads"),
        Vec::<String>::new(),
        "no staging object is left"
    );
}

#[test]
fn a_staging_object_left_by_a_crash_is_never_listed_and_is_removed_at_start() {
    let s3 = server();
    let spool = tempfile::tempdir().unwrap();
    let store = store_of(&s3);
    let ds = multipart(&s3, "mp", spool.path());
    let buf = big_buffer(2, 100);
    DatasetWriter::for_dataset(ds.clone())
        .write_checkpoint(&buf, at(D0 + 60_000))
        .unwrap();
    // What a SIGKILL between the upload in parts and the copy leaves: a whole Parquet file
    // under the staging directory (here a copy of a real one, so that a reader listing it
    // would count its rows twice).
    let leftover = Key::from(format!(
        "mp/_uploads/{}.4242.1.0",
        FIRST.rsplit('/').next().unwrap()
    ));
    block(store.copy(&Key::from(format!("mp/{FIRST}")), &leftover)).unwrap();

    let listed: Vec<String> = ds.files("").unwrap().into_iter().map(|f| f.key).collect();
    assert_eq!(
        listed,
        vec![FIRST.to_owned()],
        "readers never list staging objects"
    );
    let got: usize = ds.read_all().unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(got, buf.len());

    let report = ds.recover().unwrap();
    assert_eq!(
        report.tmp_removed, 1,
        "the staging object is removed at start"
    );
    assert_eq!(keys(&store, "mp/_uploads"), Vec::<String>::new());
    assert_eq!(ds.files("").unwrap().len(), 1, "the published file stays");
}

#[test]
fn a_large_file_through_a_local_file_system_store_is_create_only_too() {
    // `object_store`'s LocalFileSystem copies create-only with a hard link: the same path
    // works without S3, and the local-directory backend (`Dataset::local`) never takes it.
    let dir = tempfile::tempdir().unwrap();
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let spool = tempfile::tempdir().unwrap();
    let ds = Dataset::object(Arc::new(fs), "ticks", "file-store://ticks")
        .with_spool(spool.path())
        .with_multipart(PART as u64, PART);
    let taken = dir.path().join("ticks").join(FIRST);
    std::fs::create_dir_all(taken.parent().unwrap()).unwrap();
    std::fs::write(&taken, b"not ours").unwrap();
    let buf = big_buffer(10, 1_000);
    let files = DatasetWriter::for_dataset(ds.clone())
        .write_checkpoint(&buf, at(D0 + 60_000))
        .unwrap();
    assert!(
        files[0].to_string_lossy().ends_with("_000001.parquet"),
        "{files:?}"
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"not ours");
    let published = std::fs::metadata(
        dir.path()
            .join("ticks")
            .join(FIRST.replace("_000000", "_000001")),
    );
    assert!(
        published.unwrap().len() > 3 * PART as u64,
        "took the multipart path"
    );
    let uploads = dir.path().join("ticks/_uploads");
    let left = std::fs::read_dir(&uploads).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no staging file is left");
}
