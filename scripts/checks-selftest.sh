#!/usr/bin/env bash
# The repository's own checks must be able to fail. In a scratch copy of the workspace this
# breaks each rule that scripts/layer-check.sh, scripts/docs-check.sh and the demo's dataset
# check (scripts/dataset-check.sh) enforce, and fails unless every break is reported; the
# unbroken copy must pass. Part of `make test` (`make checks-selftest`).
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
# The defect of issue 11: store::ticks' rustdoc pointed at a file outside the repository.
printf '//! Layout per the contract (`/work/shared/interface.md`).\n' \
  >>"$scratch/ws/crates/store/src/lib.rs"
# ... and README.md said Rust 1.88 while the workspace needs 1.89.
sed -i -E 's/Rust toolchain \([0-9.]+ or newer\)/Rust toolchain (1.0 or newer)/' "$scratch/ws/README.md"
expect_fail docs-check scripts/docs-check.sh "shared/interface.md" "README.md says Rust 1.0"

# --- layer-check -----------------------------------------------------------------------------
copy
# Four breaks at once (one cargo resolution): a pure crate on tokio, a client on a pipeline,
# a production dependency on sim, a crate with no layer; and a crate missing from the table.
add_dep() { sed -i "0,/^\[dependencies\]/s//[dependencies]\n$2/" "$scratch/ws/crates/$1/Cargo.toml"; }
add_dep portfolio 'tokio.workspace = true'
add_dep pricing 'alerting.workspace = true'
add_dep store 'sim.workspace = true'
mkdir -p "$scratch/ws/crates/zzlayerless/src"
printf '[package]\nname = "zzlayerless"\nversion = "0.1.0"\nedition = "2021"\n' \
  >"$scratch/ws/crates/zzlayerless/Cargo.toml"
: >"$scratch/ws/crates/zzlayerless/src/lib.rs"
sed -i 's/`bus`, `ops` |/`bus` |/' "$scratch/ws/ARCHITECTURE.md"
expect_fail layer-check scripts/layer-check.sh \
  "portfolio is layer 0 (pure) but depends on: " \
  "pricing (layer 1) depends on alerting (layer 2)" \
  "store depends on sim" \
  "crate 'zzlayerless' has no layer" \
  "crate 'ops' (layer 1) is missing from ARCHITECTURE.md's layer table"
copy
expect_pass scripts/layer-check.sh

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

[ $status = 0 ] && echo "checks-selftest: docs-check, layer-check and dataset-check each fail on a violation"
exit $status
