#!/usr/bin/env bash
# The repository's own checks must be able to fail. In a scratch copy of the workspace this
# breaks each rule that scripts/layer-check.sh, scripts/link-check.sh, scripts/docs-check.sh,
# the demo's dataset check (scripts/dataset-check.sh) and its readers check
# (scripts/read-dataset.py) enforce, and fails unless every break is reported; the unbroken
# copy must pass. Part of `make test` (`make checks-selftest`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
fail() { echo "checks-selftest: $*" >&2; status=1; }

# The tracked files and the new ones not yet committed (no target/, no data).
copy() {
  rm -rf "$scratch/ws" && mkdir -p "$scratch/ws"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar -c --null -T - -f -) |
    tar -x -C "$scratch/ws"
}
# expect_fail NAME SCRIPT WORDS...: SCRIPT fails in the scratch copy and says each WORDS.
expect_fail() {
  local name=$1 script=$2 out
  shift 2
  if out=$(cd "$scratch/ws" && bash "$script" 2>&1); then
    fail "$name: $script passed on a broken copy"
    return
  fi
  for words in "$@"; do
    grep -qF -- "$words" <<<"$out" || fail "$name: $script did not say '$words'; it said: $out"
  done
}
expect_pass() {
  local out
  out=$(cd "$scratch/ws" && bash "$1" 2>&1) || fail "$1 fails on the unbroken copy: $out"
}

# --- docs-check ------------------------------------------------------------------------------
copy
expect_pass scripts/docs-check.sh
# The defect of issue 11: the dataset crate's rustdoc pointed at a file outside the repository.
printf '//! Layout per the contract (`/work/shared/interface.md`).\n' \
  >>"$scratch/ws/crates/dataset/src/lib.rs"
# ... and README.md said Rust 1.88 while the workspace needs 1.89.
sed -i -E 's/Rust toolchain \([0-9.]+ or newer\)/Rust toolchain (1.0 or newer)/' "$scratch/ws/README.md"
expect_fail docs-check scripts/docs-check.sh "shared/interface.md" "README.md says Rust 1.0"

# --- layer-check -----------------------------------------------------------------------------
copy
# Six breaks at once (one cargo resolution): a pure crate on tokio, a client on a pipeline,
# a production dependency on sim, a crate with no layer, the venue crate on a crate of ours
# other than the core, the recording pipeline on an output; and a crate missing from the
# table.
add_dep() { sed -i "0,/^\[dependencies\]/s//[dependencies]\n$2/" "$scratch/ws/crates/$1/Cargo.toml"; }
add_dep portfolio 'tokio.workspace = true'
add_dep pricing 'alerting.workspace = true'
add_dep dataset 'sim.workspace = true'
add_dep binance 'logging.workspace = true'
add_dep record 'bus.workspace = true'
mkdir -p "$scratch/ws/crates/zzlayerless/src"
printf '[package]\nname = "zzlayerless"\nversion = "0.1.0"\nedition = "2021"\n' \
  >"$scratch/ws/crates/zzlayerless/Cargo.toml"
: >"$scratch/ws/crates/zzlayerless/src/lib.rs"
sed -i 's/`bus`, `ops` |/`bus` |/' "$scratch/ws/ARCHITECTURE.md"
expect_fail layer-check scripts/layer-check.sh \
  "portfolio is layer 0 (pure) but depends on: " \
  "pricing (layer 1) depends on alerting (layer 2)" \
  "dataset depends on sim" \
  "binance (the venue crate) depends on logging" \
  "record depends on bus" \
  "crate 'zzlayerless' has no layer" \
  "crate 'ops' (layer 1) is missing from ARCHITECTURE.md's layer table"
copy
expect_pass scripts/layer-check.sh

# --- link-check ------------------------------------------------------------------------------
# The recorder linking the ledger (Diesel, SQLite) and the trader linking the dataset (arrow,
# parquet) must each be reported.
add_bin_dep() { sed -i "0,/^\[dependencies\]/s//[dependencies]\n$2/" "$scratch/ws/bins/$1/Cargo.toml"; }
add_bin_dep recorder 'ledger.workspace = true'
add_bin_dep trader 'dataset.workspace = true'
expect_fail link-check scripts/link-check.sh \
  "link-check: recorder depends on Diesel or a database client" \
  "link-check: trader depends on arrow or parquet"
copy
expect_pass scripts/link-check.sh

# --- the demo's dataset check ---------------------------------------------------------------
# The defect of issue 11: make demo wrote recorder.log inside the dataset, so pandas and
# pyarrow.dataset failed ("Parquet magic bytes not found").
data="$scratch/data"
mkdir -p "$data/date=2026-01-01" "$data/_journal" "$data/_gaps"
: >"$data/date=2026-01-01/miniticker_20260101_000000_0.parquet"
: >"$data/_journal/segment_1.wal"
(cd "$root" && bash scripts/dataset-check.sh "$data" >/dev/null 2>&1) ||
  fail "dataset-check refuses a dataset of Parquet files and _-prefixed directories"
: >"$data/recorder.log"
(cd "$root" && bash scripts/dataset-check.sh "$data" >/dev/null 2>&1) &&
  fail "dataset-check accepts a log file inside the dataset"

# --- the readers check (scripts/read-dataset.py, run by readers-check.sh and make demo) -------
# A tiny Hive dataset with a UTF-8 symbol, a _gaps dataset of another schema and a journal
# file beside it: the right counts pass; a count off by one, a UTF-8 name mangled, or a stray
# file in the dataset must each fail.
py=${PYTHON:-${READERS_VENV:-$HOME/.cache/marketdata/readers}/bin/python}
rd="$scratch/readers"
if "$py" - "$rd" <<'PY'
import os, sys
import pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
for sub in ("date=2026-01-01", "date=2026-01-02", "_gaps/date=2026-01-01", "_journal"):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
pq.write_table(pa.table({"symbol": ["BTCUSDT", "币安人生USDT", "BTCUSDT"], "close": [1.0, 2.0, 3.0]}),
               os.path.join(d, "date=2026-01-01", "miniticker_1.parquet"))
pq.write_table(pa.table({"symbol": ["币安人生USDT"], "close": [4.0]}),
               os.path.join(d, "date=2026-01-02", "miniticker_2.parquet"))
pq.write_table(pa.table({"start": [1], "end": [2], "reason": ["start-up"]}),
               os.path.join(d, "_gaps", "date=2026-01-01", "gaps_1.parquet"))
open(os.path.join(d, "_journal", "segment_1.wal"), "w").write("not parquet")
PY
then
  readers() { "$py" "$root/scripts/read-dataset.py" "$rd" "$scratch/counts.tsv" --require pyarrow,duckdb 2>&1; }
  printf 'BTCUSDT\t2\n币安人生USDT\t2\n' >"$scratch/counts.tsv"
  out=$(readers) || fail "read-dataset refuses a dataset its readers read right: $out"
  printf 'BTCUSDT\t2\n币安人生USDT\t1\n' >"$scratch/counts.tsv"
  out=$(readers) && fail "read-dataset accepts a row count off by one: $out"
  printf 'BTCUSDT\t2\n\\u5e01\\u5b89\\u4eba\\u751fUSDT\t2\n' >"$scratch/counts.tsv"
  out=$(readers) && fail "read-dataset accepts a mangled UTF-8 symbol name: $out"
  printf 'BTCUSDT\t2\n币安人生USDT\t2\n' >"$scratch/counts.tsv"
  echo "a log line" >"$rd/recorder.log"
  out=$(readers) && fail "read-dataset accepts a dataset pyarrow cannot open: $out"
else
  fail "no pyarrow in $py to build the readers' test dataset (make setup installs it)"
fi

[ $status = 0 ] && echo "checks-selftest: docs-check, layer-check, link-check, dataset-check and the readers check each fail on a violation"
exit $status
