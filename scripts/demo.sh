#!/usr/bin/env bash
# make demo: start the simulated exchange, record its all-market mini-ticker stream for a few
# seconds, stop the recorder with Ctrl-C (SIGINT) and show what it wrote and how to read it:
# the dataset reader, then each reader advertised below that is installed, each checked to find
# the same rows per symbol as the dataset reader (scripts/read-dataset.py).
#
# demo.sh DIR SECS PORT (PORT 0: any free port). Environment:
#   PYTHON          the Python whose pandas/pyarrow/duckdb/polars are used (default: the
#                   readers venv below if there is one, else python3)
#   READERS_VENV    the venv `make test` installs pyarrow and duckdb into
#                   (default ~/.cache/marketdata/readers)
#   READERS_REQUIRE comma-separated readers that must be installed (scripts/readers-check.sh)
#   DEMO_BUILD=0    use the binaries and the inspect example already built in the target dir
#                   (readers-check.sh: `make test` built them with the workspace's tests)
set -euo pipefail
dir=${1:-demo-data}; secs=${2:-8}; port=${3:-18765}
here=$(cd "$(dirname "$0")" && pwd)
venv=${READERS_VENV:-$HOME/.cache/marketdata/readers}
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$venv/bin/python" ]; then PYTHON=$venv/bin/python; else PYTHON=python3; fi
fi

if [ "${DEMO_BUILD:-1}" != 0 ]; then
  cargo build -q -p exchange-sim -p recorder
  cargo build -q -p dataset --example inspect
fi
bin=${CARGO_TARGET_DIR:-target}/debug
# The log goes next to the dataset, never into it: readers such as pandas and pyarrow.dataset
# open every file of the directory as Parquet.
log="$dir.recorder.log"
tmp=$(mktemp -d)

"$bin/exchange-sim" --port "$port" --interval-ms 500 > "$tmp/exchange-sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$tmp/exchange-sim.log" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^exchange-sim listening on //p' "$tmp/exchange-sim.log" | head -1)
if [ -z "$addr" ]; then
  echo "demo: exchange-sim did not start:" >&2; cat "$tmp/exchange-sim.log" >&2; exit 1
fi
echo "exchange-sim listening on $addr"

echo "== recorder for ${secs}s (checkpoint every 2s), then Ctrl-C"
BINANCE_WS_URL="ws://$addr" LOG_FILE="$log" \
  "$bin/recorder" --out-dir "$dir" --checkpoint-secs 2 &
rec=$!
sleep "$secs"
kill -INT $rec
wait $rec

echo
echo "== files (recorder log: $log)"
find "$dir" -name '*.parquet' | sort
# The dataset holds Parquet files and the recorder's own _-prefixed directories, nothing else.
bash "$here/dataset-check.sh" "$dir"
echo
echo "== read back with the dataset reader (cargo run -p dataset --example inspect -- $dir)"
"$bin/examples/inspect" "$dir"
"$bin/examples/inspect" "$dir" --counts > "$tmp/counts.tsv"
cat <<TXT

== the same dataset from Python or SQL (README "Reading the dataset")
  pandas:  pd.read_parquet("$dir")                       # 'date' becomes a column
  pyarrow: pyarrow.dataset.dataset("$dir", format="parquet", partitioning="hive")
  DuckDB:  SELECT symbol, count(*) FROM read_parquet('$dir/date=*/*.parquet', hive_partitioning=true) GROUP BY 1;
  polars:  pl.scan_parquet("$dir/date=*/*.parquet", hive_partitioning=True)
== each of them that is installed ($PYTHON), against the dataset reader's rows per symbol
TXT
"$PYTHON" "$here/read-dataset.py" "$dir" "$tmp/counts.tsv" ${READERS_REQUIRE:+--require "$READERS_REQUIRE"}
