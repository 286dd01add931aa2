#!/usr/bin/env bash
# dataset-check.sh DIR: the dataset directory holds only what its readers expect: Parquet
# files and the recorder's own _-prefixed directories (_journal, _gaps, ...), nothing else.
# pandas' read_parquet(DIR) and pyarrow.dataset open every other file as Parquet and fail
# ("Parquet magic bytes not found"), so a log file inside the dataset breaks them.
# `make demo` runs it on what the recorder wrote; scripts/checks-selftest.sh proves it fails.
set -euo pipefail
dir=${1:?usage: dataset-check.sh DIR}
stray=$(find "$dir" -type f ! -name '*.parquet' ! -path "$dir/_*" | sort)
if [ -n "$stray" ]; then
  echo "dataset-check: files that are not Parquet in the dataset $dir (readers would fail):" >&2
  echo "$stray" >&2
  exit 1
fi
