#!/usr/bin/env bash
# make demo: start the simulated exchange, record its all-market mini-ticker stream for a few
# seconds, stop the recorder with Ctrl-C (SIGINT) and show what it wrote and how to read it.
set -euo pipefail
dir=${1:-demo-data}; secs=${2:-8}; port=${3:-18765}

cargo build -q -p exchange-sim -p recorder
cargo build -q -p store --features ticks --example inspect
bin=${CARGO_TARGET_DIR:-target}/debug
# The log goes next to the dataset, never into it: readers such as pandas and pyarrow.dataset
# open every file of the directory as Parquet.
log="$dir.recorder.log"

"$bin/exchange-sim" --port "$port" --interval-ms 500 > /tmp/exchange-sim.$$.log 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q "listening on" /tmp/exchange-sim.$$.log 2>/dev/null && break; sleep 0.1; done
head -1 /tmp/exchange-sim.$$.log

echo "== recorder for ${secs}s (checkpoint every 2s), then Ctrl-C"
BINANCE_WS_URL="ws://127.0.0.1:$port" LOG_FILE="$log" \
  "$bin/recorder" --out-dir "$dir" --checkpoint-secs 2 &
rec=$!
sleep "$secs"
kill -INT $rec
wait $rec

echo
echo "== files (recorder log: $log)"
find "$dir" -name '*.parquet' | sort
# The dataset holds Parquet files and the recorder's own _-prefixed directories, nothing else.
bash "$(dirname "$0")/dataset-check.sh" "$dir"
echo
echo "== read back with the store reader (cargo run -p store --features ticks --example inspect -- $dir)"
"$bin/examples/inspect" "$dir"
cat <<TXT

== the same dataset from Python or SQL
  pandas:  pd.read_parquet("$dir")                       # 'date' becomes a column
  pyarrow: pyarrow.dataset.dataset("$dir", format="parquet", partitioning="hive")
  DuckDB:  SELECT symbol, count(*) FROM read_parquet('$dir/date=*/*.parquet', hive_partitioning=true) GROUP BY 1;
  polars:  pl.scan_parquet("$dir/date=*/*.parquet", hive_partitioning=True)
TXT

# Each advertised reader that is installed here reads the dataset (the others are skipped).
py() { python3 -c "import $1" 2>/dev/null; }
ran=0
if py pandas && py pyarrow; then
  echo "== pandas"; python3 -c "import pandas as pd; df = pd.read_parquet('$dir'); print(len(df), 'rows,', df['symbol'].nunique(), 'symbols')"; ran=1
fi
if py pyarrow; then
  echo "== pyarrow.dataset"; python3 -c "import pyarrow.dataset as ds; print(ds.dataset('$dir', format='parquet', partitioning='hive').count_rows(), 'rows')"; ran=1
fi
if py duckdb; then
  echo "== DuckDB"; python3 -c "import duckdb; print(duckdb.sql(\"SELECT count(*) AS rows, count(DISTINCT symbol) AS symbols FROM read_parquet('$dir/date=*/*.parquet', hive_partitioning=true)\"))"; ran=1
elif command -v duckdb >/dev/null; then
  echo "== DuckDB"; duckdb -c "SELECT count(*) AS rows FROM read_parquet('$dir/date=*/*.parquet', hive_partitioning=true)"; ran=1
fi
if py polars; then
  echo "== polars"; python3 -c "import polars as pl; print(pl.scan_parquet('$dir/date=*/*.parquet', hive_partitioning=True).select(pl.len()).collect().item(), 'rows')"; ran=1
fi
[ "$ran" = 1 ] || echo "(none of pandas, pyarrow, DuckDB, polars is installed here; the store reader above read it)"
