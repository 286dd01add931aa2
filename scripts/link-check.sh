#!/usr/bin/env bash
# A binary links only what it uses, however the workspace is built:
# - the recorder and the alerter must not depend on Diesel or on a database client library
#   (MySQL, SQLite, PostgreSQL: the `ledger` crate's);
# - the trader must not depend on arrow or parquet (the `dataset` crate's).
set -euo pipefail
status=0
tree() { cargo tree -p "$1" -e normal --prefix none 2>/dev/null; }
for bin in recorder alerter; do
  if tree "$bin" | grep -Eq '^(diesel|mysqlclient-sys|libsqlite3-sys|pq-sys|pq-src) '; then
    echo "link-check: $bin depends on Diesel or a database client:" >&2
    cargo tree -p "$bin" -e normal -i diesel 2>&1 | head -20 >&2 || true
    status=1
  else
    echo "link-check: $bin has no Diesel/MySQL/SQLite/libpq in its dependency graph"
  fi
done
if tree trader | grep -Eq '^(parquet|arrow-array|arrow-schema) '; then
  echo "link-check: trader depends on arrow or parquet:" >&2
  cargo tree -p trader -e normal -i parquet 2>&1 | head -20 >&2 || true
  status=1
else
  echo "link-check: trader has no arrow/parquet in its dependency graph"
fi
exit $status
