//! The README's pyarrow lines read the dataset the recorder wrote to `s3://…` in place.
//!
//! The recorder binary records the simulated exchange (whose universe has UTF-8 names such as
//! `币安人生USDT`) onto a real S3-compatible server (`sim::s3::S3Server`, moto_server); then
//! `pyarrow.fs.S3FileSystem` + `pyarrow.dataset(..., partitioning="hive")`, as the README's
//! "Reading the dataset in place" shows them, must find exactly the rows per symbol that
//! `dataset` reads from the same objects, skip the `_lock`, `_gaps` and `_uploads`
//! objects beside the partitions, and answer the README's date + symbol filter with that
//! symbol's rows of that day.
//!
//! pyarrow comes from the readers' venv that `scripts/setup-test-env.sh` fills (`make test`
//! runs it first; `READERS_VENV` moves it, `PYTHON` names another interpreter). DuckDB's and
//! Spark's S3 snippets are not run: DuckDB downloads its `httpfs` extension at run time (no
//! internet here) and Spark is not installed.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::s3::{s3_server, spawn_s3, Bucket};
use common::{stop_cleanly, wait_until, Sim};

/// The README's pyarrow snippet, with the endpoint, the dataset path and the filter given on
/// the command line; credentials from the same `AWS_*` variables the recorder used. Prints
/// `symbol<TAB>rows` for the whole dataset, then `filtered<TAB>rows` for the filter.
const PYARROW: &str = r#"
import sys
import pyarrow.dataset as ds, pyarrow.fs as fs
endpoint, path, date, symbol = sys.argv[1:5]
scheme, host = endpoint.split("://", 1)
s3 = fs.S3FileSystem(endpoint_override=host, scheme=scheme, region="us-east-1")
ticks = ds.dataset(path, filesystem=s3, format="parquet", partitioning="hive")
assert "date" in ticks.schema.names, ticks.schema.names
for row in ticks.to_table(columns=["symbol"])["symbol"].value_counts().to_pylist():
    print(f"{row['values']}\t{row['counts']}")
one = ticks.to_table(filter=(ds.field("date") == date) & (ds.field("symbol") == symbol))
print(f"filtered\t{one.num_rows}")
"#;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PYTHON") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("READERS_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/marketdata/readers"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh (make test does) to install pyarrow",
        python.display()
    );
    python
}

#[test]
fn pyarrow_reads_the_objects_in_place_as_the_readme_shows() {
    let s3 = s3_server();
    let sim = Sim::start(sim::SimConfig {
        seed: 31,
        symbols: 200,
        interval: Duration::from_millis(100),
        ..sim::SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(&s3);
    let mut rec = spawn_s3(
        &s3,
        "readers",
        &dir.path().join("journal"),
        &sim.h().ws_base(),
        &[],
    );
    wait_until(Duration::from_secs(30), "two checkpoints uploaded", || {
        bucket.tick_objects("readers") >= 2
    });
    stop_cleanly(&sim, &mut rec);

    // What dataset reads from the objects: rows per symbol, and per (date, symbol).
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<(String, String), u64> = BTreeMap::new();
    for batch in bucket.dataset("readers").read_all().unwrap() {
        for row in dataset::rows(&batch).unwrap() {
            let date = chrono::DateTime::from_timestamp_millis(row.event_time)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string();
            *per_day.entry((date, row.symbol.clone())).or_default() += 1;
            *expected.entry(row.symbol).or_default() += 1;
        }
    }
    let utf8 = expected
        .keys()
        .find(|s| !s.is_ascii())
        .cloned()
        .expect("the simulator's universe has a UTF-8 symbol name");
    let ((date, symbol), day_rows) = per_day
        .iter()
        .find(|((_, s), _)| *s == utf8)
        .map(|(k, n)| (k.clone(), *n))
        .expect("rows of the UTF-8 symbol");
    let keys = bucket.etags("readers");
    assert!(
        keys.keys()
            .any(|k| k.contains("/_gaps/") || k.ends_with("/_lock")),
        "nothing `_`-prefixed beside the partitions: the skip is not shown ({keys:?})"
    );

    let out = Command::new(python())
        .arg("-c")
        .arg(PYARROW)
        .arg(s3.endpoint())
        .arg(format!("{}/readers", s3.bucket()))
        .arg(&date)
        .arg(&symbol)
        .envs(s3.env())
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run python");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        out.status.success(),
        "pyarrow failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut read: BTreeMap<String, u64> = BTreeMap::new();
    let mut filtered = None;
    for line in stdout.lines() {
        let (name, n) = line.split_once('\t').expect("name<TAB>rows");
        let n: u64 = n.parse().expect("a row count");
        if name == "filtered" {
            filtered = Some(n);
        } else {
            read.insert(name.to_owned(), n);
        }
    }
    assert_eq!(read, expected, "pyarrow's rows per symbol differ");
    assert_eq!(
        filtered,
        Some(day_rows),
        "date = {date} and symbol = {symbol}"
    );
}
