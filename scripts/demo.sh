#!/usr/bin/env bash
# make demo: start the simulated exchange, record its all-market mini-ticker stream for a few
# seconds, stop the recorder with Ctrl-C (SIGINT) and show what it wrote and how to read it.
set -euo pipefail
dir=${1:-demo-data}; secs=${2:-8}; port=${3:-18765}

cargo build -q -p exchange-sim -p recorder
cargo build -q -p store --features ticks --example inspect
bin=target/debug

"$bin/exchange-sim" --port "$port" --interval-ms 500 > /tmp/exchange-sim.$$.log 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q "listening on" /tmp/exchange-sim.$$.log 2>/dev/null && break; sleep 0.1; done
head -1 /tmp/exchange-sim.$$.log

echo "== recorder for ${secs}s (checkpoint every 2s), then Ctrl-C"
BINANCE_WS_URL="ws://127.0.0.1:$port" LOG_FILE="$dir/recorder.log" \
  "$bin/recorder" --out-dir "$dir" --checkpoint-secs 2 &
rec=$!
sleep "$secs"
kill -INT $rec
wait $rec

echo
echo "== files"
find "$dir" -name '*.parquet' | sort
echo
echo "== read back with the store reader (cargo run -p store --features ticks --example inspect -- $dir)"
"$bin/examples/inspect" "$dir"
cat <<TXT

== the same dataset from Python or SQL
  pandas:  pd.read_parquet("$dir")                       # 'date' becomes a column
  DuckDB:  SELECT symbol, count(*) FROM read_parquet('$dir/date=*/*.parquet', hive_partitioning=true) GROUP BY 1;
  polars:  pl.scan_parquet("$dir/date=*/*.parquet", hive_partitioning=True)
TXT
