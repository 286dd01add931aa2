#!/usr/bin/env python3
"""read-dataset.py DIR COUNTS [--require READER,...]: reads a dataset the recorder wrote with
each reader the README advertises that is installed, and checks that each finds what the store
reader found (COUNTS: its `inspect DIR --counts` output, one `symbol<TAB>rows` line per
symbol): the same rows per symbol, the UTF-8 symbol names byte for byte, and `date` as the
Hive partition column. The `_`-prefixed directories (`_gaps`, `_journal`) must be skipped.

Each reader runs the line the README and `make demo` show, nothing more. A reader named in
--require that is not installed is a failure; the others are skipped when missing.
`make demo` runs it to show the readers; `make test` (scripts/readers-check.sh) requires
pyarrow and duckdb.
"""
import importlib.util
import sys
from collections import Counter


def pandas_counts(d):
    import pandas as pd

    df = pd.read_parquet(d)  # 'date' becomes a column
    assert "date" in df.columns, list(df.columns)
    return Counter(df["symbol"].astype(str).value_counts().to_dict())


def pyarrow_counts(d):
    import pyarrow.dataset as ds

    dataset = ds.dataset(d, format="parquet", partitioning="hive")
    assert "date" in dataset.schema.names, dataset.schema.names
    table = dataset.to_table(columns=["symbol"])
    return Counter(
        {row["values"]: row["counts"] for row in table["symbol"].value_counts().to_pylist()}
    )


def duckdb_counts(d):
    import duckdb

    glob = f"{d}/date=*/*.parquet"
    con = duckdb.connect()
    columns = [c[0] for c in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{glob}', hive_partitioning=true)").fetchall()]
    assert "date" in columns, columns
    rows = con.sql(
        f"SELECT symbol, count(*) FROM read_parquet('{glob}', hive_partitioning=true) GROUP BY 1"
    ).fetchall()
    return Counter(dict(rows))


def polars_counts(d):
    import polars as pl

    lf = pl.scan_parquet(f"{d}/date=*/*.parquet", hive_partitioning=True)
    df = lf.group_by("symbol").agg(pl.len().alias("n")).collect()
    return Counter(dict(zip(df["symbol"].to_list(), df["n"].to_list())))


# (name shown, module that must be importable, reader)
READERS = [
    ("pandas", "pandas", pandas_counts),
    ("pyarrow", "pyarrow", pyarrow_counts),
    ("duckdb", "duckdb", duckdb_counts),
    ("polars", "polars", polars_counts),
]


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--require"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    d, counts_file = argv[1], argv[2]
    required = set(argv[4].split(",")) if len(argv) == 5 else set()
    unknown = required - {name for name, _, _ in READERS}
    if unknown:
        print(f"read-dataset: no such reader: {sorted(unknown)}", file=sys.stderr)
        return 2
    want = Counter()
    with open(counts_file, encoding="utf-8") as f:
        for line in f:
            symbol, rows = line.rstrip("\n").split("\t")
            want[symbol] = int(rows)
    if not want:
        print(f"read-dataset: the dataset reader found no rows in {d}", file=sys.stderr)
        return 1
    utf8 = sorted(s for s in want if not s.isascii())
    failed = False
    ran = []
    for name, module, read in READERS:
        if importlib.util.find_spec(module) is None or (
            name == "pandas" and importlib.util.find_spec("pyarrow") is None
        ):
            if name in required:
                print(f"read-dataset: {name} is required but not installed ({sys.executable})", file=sys.stderr)
                failed = True
            continue
        try:
            got = read(d)
        except Exception as e:  # a reader that cannot open the dataset is the failure shown
            print(f"read-dataset: {name} cannot read {d}: {type(e).__name__}: {e}", file=sys.stderr)
            failed = True
            continue
        ran.append(name)
        if got != want:
            diff = sorted(set(got.items()) ^ set(want.items()))[:6]
            print(
                f"read-dataset: {name} found {sum(got.values())} rows in {len(got)} symbols, "
                f"the dataset reader {sum(want.values())} in {len(want)}; e.g. (symbol, rows) {diff}",
                file=sys.stderr,
            )
            failed = True
        else:
            print(
                f"{name}: {sum(got.values())} rows, {len(got)} symbols, as the dataset reader"
                + (f" (UTF-8 names too: {', '.join(utf8[:3])})" if utf8 else "")
            )
    if not ran and not failed:
        print("(none of pandas, pyarrow, DuckDB, polars is installed here; the dataset reader read it)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
