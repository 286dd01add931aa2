#!/usr/bin/env bash
# A binary links only what it uses: the recorder and the alerter must not depend on Diesel or
# on a database client library (MySQL, SQLite, PostgreSQL: store's `db` feature), however the
# workspace is built.
set -euo pipefail
status=0
for bin in recorder alerter; do
  if cargo tree -p "$bin" -e normal --prefix none 2>/dev/null | grep -Eq '^(diesel|mysqlclient-sys|libsqlite3-sys|pq-sys|pq-src) '; then
    echo "link-check: $bin depends on Diesel or a database client:" >&2
    cargo tree -p "$bin" -e normal -i diesel 2>&1 | head -20 >&2 || true
    status=1
  else
    echo "link-check: $bin has no Diesel/MySQL/SQLite/libpq in its dependency graph"
  fi
done
exit $status
