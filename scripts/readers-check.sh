#!/usr/bin/env bash
# readers-check.sh: the README's readers really read what the recorder writes. `make demo` is
# run into a scratch directory on a free port: the recorder binary records the simulated
# exchange, whose symbols include UTF-8 names such as 币安人生USDT, into a local directory that
# also holds its _gaps dataset and _journal; then pyarrow.dataset(..., partitioning="hive")
# and DuckDB's read_parquet('DIR/date=*/*.parquet', hive_partitioning=true), from the venv
# scripts/setup-test-env.sh installs, must each find exactly the rows per symbol that
# dataset reads (scripts/read-dataset.py), UTF-8 names byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "readers-check: $*" >&2; exit 1; }

# The binaries as the workspace's tests build them: right after `make test`'s unit step this
# compiles nothing (a separate `cargo build -p recorder` would resolve other features and
# compile much of the tree again).
cargo test -q --workspace --no-run
if ! DEMO_BUILD=0 READERS_REQUIRE=pyarrow,duckdb bash "$here/demo.sh" "$tmp/data" \
  "${READERS_SECS:-5}" 0 > "$tmp/out" 2>&1; then
  cat "$tmp/out" >&2
  fail "the demo or one of its readers failed (above)"
fi
# What the check claims to cover is really in the dataset it read.
find "$tmp/data/_gaps" -name '*.parquet' 2>/dev/null | grep -q . ||
  fail "the recorder wrote no _gaps dataset: the readers were not shown to skip it"
[ -d "$tmp/data/_journal" ] || fail "the recorder wrote no _journal directory"
for reader in pyarrow duckdb; do
  grep -q "^$reader: .* as the dataset reader (UTF-8 names too: " "$tmp/out" ||
    { cat "$tmp/out" >&2; fail "$reader did not read UTF-8 symbol names back (above)"; }
done
grep -E '^(pandas|pyarrow|duckdb|polars): ' "$tmp/out" | sed 's/^/readers-check: /'
