//! End-to-end tests of the tick store: buffer -> checkpoint files -> readers.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_schema::DataType;
use chrono::{DateTime, Utc};
use dataset::{
    list_files, read_by_symbol, read_dataset, read_file, read_symbol, rows, schema, DatasetWriter,
    OwnedTick, Tick, TickBuffer, TickError,
};

/// 2024-01-01T23:59:59.000Z
const LATE: i64 = 1_704_153_599_000;

fn tick(symbol: &str, event_time: i64, close: f64) -> OwnedTick {
    OwnedTick {
        symbol: symbol.into(),
        event_time,
        close,
        open: close * 0.5,
        high: close * 2.0,
        low: close / 3.0,
        base_volume: close + 1e-8,
        quote_volume: close * 12_345.678_901_23,
    }
}

fn buffer(ticks: &[OwnedTick]) -> TickBuffer {
    let mut buf = TickBuffer::new();
    ticks.iter().for_each(|t| buf.push(&t.as_tick()));
    buf
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn all_rows(root: &Path) -> Vec<OwnedTick> {
    read_dataset(root)
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).unwrap())
        .collect()
}

fn sorted(mut ticks: Vec<OwnedTick>) -> Vec<OwnedTick> {
    ticks.sort_by(|a, b| (&a.symbol, a.event_time).cmp(&(&b.symbol, b.event_time)));
    ticks
}

/// `miniticker_YYYYMMDD_HHMMSS_<digits>.parquet`, the contract's file name.
fn is_contract_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("miniticker_")
        .and_then(|r| r.strip_suffix(".parquet"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('_').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && parts[0].len() == 8
        && parts[1].len() == 6
        && parts.iter().all(|p| digits(p))
}

fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[test]
fn roundtrip_is_exact_sorted_and_dictionary_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let input = vec![
        tick("ETHBTC", LATE - 10, 0.054_321_09),
        tick("BTCUSDT", LATE - 5, 42_123.45),
        tick("ETHBTC", LATE - 20, 0.000_000_01),
        tick("BTCUSDT", LATE - 7, -0.0),
        tick("ADAUSDT", LATE - 1, 1e300),
        tick("BTCUSDT", LATE - 5, 7.0), // same key as an earlier row: push order is kept
    ];
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buffer(&input), at(1_704_153_600))
        .unwrap();
    assert_eq!(files.len(), 1);
    let batches = read_file(&files[0]).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].schema(), schema());
    assert!(matches!(
        batches[0].schema().field(0).data_type(),
        DataType::Dictionary(..)
    ));
    let got = rows(&batches[0]).unwrap();
    assert_eq!(got, sorted(input.clone()));
    // Bit-exact floats (PartialEq would accept -0.0 == 0.0).
    for (g, w) in got.iter().zip(&sorted(input)) {
        assert_eq!(g.close.to_bits(), w.close.to_bits());
        assert_eq!(g.quote_volume.to_bits(), w.quote_volume.to_bits());
    }
}

#[test]
fn file_metadata_declares_the_sort_order() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let buf = buffer(&[tick("A", 1, 1.0), tick("B", 2, 2.0)]);
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buf, at(0))
        .unwrap();
    let reader = SerializedFileReader::new(fs::File::open(&files[0]).unwrap()).unwrap();
    let rg = reader.metadata().row_group(0);
    let sorting: Vec<i32> = rg
        .sorting_columns()
        .unwrap()
        .iter()
        .map(|c| c.column_idx)
        .collect();
    assert_eq!(sorting, [0, 1]);
    assert!(rg.column(0).statistics().is_some());
}

#[test]
fn rows_spanning_midnight_go_to_two_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let input = [
        tick("BTCUSDT", LATE + 999, 1.0),
        tick("BTCUSDT", LATE + 1_000, 2.0),
    ];
    let now = at(1_704_153_601);
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buffer(&input), now)
        .unwrap();
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).unwrap().into())
        .collect();
    assert_eq!(
        rel,
        [
            PathBuf::from("date=2024-01-01/miniticker_20240102_000001_000000.parquet"),
            PathBuf::from("date=2024-01-02/miniticker_20240102_000001_000001.parquet"),
        ]
    );
    assert_eq!(
        rows(&read_file(&files[0]).unwrap()[0]).unwrap(),
        [input[0].clone()]
    );
    assert_eq!(
        rows(&read_file(&files[1]).unwrap()[0]).unwrap(),
        [input[1].clone()]
    );
    assert_eq!(list_files(dir.path()).unwrap(), files);
}

#[test]
fn file_names_match_the_contract_and_never_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = DatasetWriter::new(dir.path());
    let buf = buffer(&[tick("X", LATE, 1.0)]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.extend(writer.write_checkpoint(&buf, at(1_704_153_600)).unwrap());
    }
    for path in &seen {
        assert!(is_contract_name(name(path)), "{}", path.display());
        assert!(name(path).starts_with("miniticker_20240102_000000_"));
        assert_eq!(name(path.parent().unwrap()), "date=2024-01-01");
    }
    seen.dedup();
    assert_eq!(seen.len(), 3);
    assert!(!is_contract_name(
        "miniticker_2024010_000000_000000.parquet"
    ));
    assert!(!is_contract_name(
        ".miniticker_20240102_000000_000000.parquet.tmp"
    ));
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("date=2024-01-01");
    fs::create_dir_all(&part).unwrap();
    let taken = part.join("miniticker_20240102_000000_000000.parquet");
    fs::write(&taken, b"somebody else's file").unwrap();
    let buf = buffer(&[tick("X", LATE, 1.0)]);
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buf, at(1_704_153_600))
        .unwrap();
    assert_eq!(fs::read(&taken).unwrap(), b"somebody else's file");
    assert_eq!(
        files,
        [part.join("miniticker_20240102_000000_000001.parquet")]
    );
    assert_eq!(
        rows(&read_file(&files[0]).unwrap()[0]).unwrap(),
        [tick("X", LATE, 1.0)]
    );
    let leftovers: Vec<_> = fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hidden_and_temporary_files_are_ignored_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    let buf = buffer(&[tick("X", LATE, 1.0)]);
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buf, at(0))
        .unwrap();
    let part = files[0].parent().unwrap();
    fs::write(
        part.join(".miniticker_19700101_000000_000009.parquet.tmp"),
        b"half",
    )
    .unwrap();
    fs::write(part.join(".hidden.parquet"), b"junk").unwrap();
    fs::write(part.join("_SUCCESS"), b"").unwrap();
    fs::write(part.join("notes.txt"), b"junk").unwrap();
    fs::create_dir(dir.path().join("_temporary")).unwrap();
    fs::write(dir.path().join("_temporary/x.parquet"), b"junk").unwrap();
    assert_eq!(list_files(dir.path()).unwrap(), files);
    assert_eq!(all_rows(dir.path()), [tick("X", LATE, 1.0)]);
}

#[test]
fn a_truncated_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ticks: Vec<OwnedTick> = (0..1000).map(|i| tick("X", LATE + i, i as f64)).collect();
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&buffer(&ticks), at(0))
        .unwrap();
    let len = fs::metadata(&files[0]).unwrap().len();
    for keep in [len - 1, len / 2, 8, 0] {
        let bytes = fs::read(&files[0]).unwrap();
        let truncated = dir
            .path()
            .join("date=2024-01-01/miniticker_19700101_000000_999999.parquet");
        fs::write(&truncated, &bytes[..keep as usize]).unwrap();
        for result in [read_dataset(dir.path()), read_symbol(dir.path(), "X")] {
            let err = result.expect_err("a truncated file must not read");
            assert!(
                err.to_string()
                    .contains("miniticker_19700101_000000_999999.parquet"),
                "{err}"
            );
        }
        assert!(read_by_symbol(dir.path()).is_err());
    }
}

#[test]
fn read_symbol_returns_only_that_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = DatasetWriter::new(dir.path());
    let first = [
        tick("AAA", LATE, 1.0),
        tick("BBB", LATE + 1, 2.0),
        tick("CCC", LATE, 3.0),
    ];
    let second = [
        tick("BBB", LATE + 2_000, 4.0),
        tick("CCC", LATE + 3_000, 5.0),
    ];
    writer.write_checkpoint(&buffer(&first), at(60)).unwrap();
    writer.write_checkpoint(&buffer(&second), at(120)).unwrap();
    let got: Vec<OwnedTick> = read_symbol(dir.path(), "BBB")
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).unwrap())
        .collect();
    assert_eq!(got, [first[1].clone(), second[0].clone()]);
    assert!(read_symbol(dir.path(), "ZZZ").unwrap().is_empty());
    assert!(read_symbol(dir.path(), "A").unwrap().is_empty());
    assert!(read_symbol(dir.path(), "BB").unwrap().is_empty());
}

#[test]
fn read_by_symbol_gives_one_time_sorted_frame_per_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = DatasetWriter::new(dir.path());
    // The later checkpoint file holds an earlier event: frames are still sorted by time.
    writer
        .write_checkpoint(
            &buffer(&[
                tick("ETHBTC", LATE + 5_000, 1.0),
                tick("BTCUSDT", LATE, 2.0),
            ]),
            at(60),
        )
        .unwrap();
    writer
        .write_checkpoint(
            &buffer(&[tick("ETHBTC", LATE + 3_000, 3.0), tick("BNBBTC", LATE, 4.0)]),
            at(120),
        )
        .unwrap();
    let frames = read_by_symbol(dir.path()).unwrap();
    assert_eq!(
        frames.keys().collect::<Vec<_>>(),
        ["BNBBTC", "BTCUSDT", "ETHBTC"]
    );
    for batch in frames.values() {
        assert_eq!(batch.schema(), schema());
    }
    assert_eq!(
        rows(&frames["ETHBTC"]).unwrap(),
        [
            tick("ETHBTC", LATE + 3_000, 3.0),
            tick("ETHBTC", LATE + 5_000, 1.0)
        ]
    );
    assert_eq!(
        rows(&frames["BNBBTC"]).unwrap(),
        [tick("BNBBTC", LATE, 4.0)]
    );
}

fn assert_failed_cleanly(
    result: Result<Vec<PathBuf>, TickError>,
    buf: &TickBuffer,
    before: &[OwnedTick],
    root: &Path,
) {
    let err = result.expect_err("the checkpoint must fail");
    assert!(!err.to_string().is_empty());
    let after: Vec<OwnedTick> = buf
        .to_batches()
        .unwrap()
        .iter()
        .flat_map(|(_, b)| rows(b).unwrap())
        .collect();
    assert_eq!(after, before, "the buffer must be untouched");
    if root.is_dir() {
        assert!(
            list_files(root).unwrap().is_empty(),
            "nothing may be published"
        );
    }
}

#[test]
fn write_failure_when_root_is_a_file_leaves_the_buffer_intact() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    fs::write(&root, b"not a directory").unwrap();
    let input = [tick("X", LATE, 1.0), tick("Y", LATE, 2.0)];
    let buf = buffer(&input);
    let result = DatasetWriter::new(&root).write_checkpoint(&buf, at(0));
    assert!(matches!(result, Err(TickError::Io { ref path, .. }) if path.starts_with(&root)));
    assert_failed_cleanly(result, &buf, &sorted(input.to_vec()), &root);
    assert_eq!(fs::read(&root).unwrap(), b"not a directory");
}

#[test]
fn a_failure_on_the_second_date_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A file squats the second partition's directory name.
    fs::write(dir.path().join("date=2024-01-02"), b"squatter").unwrap();
    let input = [tick("X", LATE, 1.0), tick("X", LATE + 1_000, 2.0)];
    let buf = buffer(&input);
    let result = DatasetWriter::new(dir.path()).write_checkpoint(&buf, at(0));
    assert_failed_cleanly(result, &buf, &input, dir.path());
    let first = dir.path().join("date=2024-01-01");
    assert_eq!(
        fs::read_dir(first).unwrap().count(),
        0,
        "temporary files are removed"
    );
}

#[test]
fn an_empty_buffer_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = DatasetWriter::new(dir.path())
        .write_checkpoint(&TickBuffer::new(), at(0))
        .unwrap();
    assert!(files.is_empty());
    assert!(list_files(dir.path()).unwrap().is_empty());
}

#[test]
fn tick_and_owned_tick_agree() {
    let t = Tick {
        symbol: "S",
        event_time: 1,
        close: 2.0,
        open: 3.0,
        high: 4.0,
        low: 5.0,
        base_volume: 6.0,
        quote_volume: 7.0,
    };
    let buf = {
        let mut b = TickBuffer::new();
        b.push(&t);
        b
    };
    let owned = rows(&buf.to_batches().unwrap()[0].1).unwrap();
    assert_eq!(owned[0].as_tick(), t);
}
