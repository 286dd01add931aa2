#!/usr/bin/env bash
# Installs and starts what the test suite needs on a fresh Debian machine, and nothing when it
# is already there: the MariaDB client library (Diesel's MySQL backend links it) and a MariaDB
# server on 127.0.0.1:3306 with root and an empty password (the trader's MySQL tests).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
  echo "setup: installing libmariadb-dev (MySQL client library for Diesel)"
  apt_install libmariadb-dev pkg-config
fi

mysql_up() { mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }
if ! mysql_up; then
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    echo "setup: installing mariadb-server"
    apt_install mariadb-server mariadb-client
  fi
  echo "setup: starting MariaDB"
  as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 60); do mysql_up && break; sleep 1; done
  # A fresh install lets root in only through the unix socket: allow TCP with no password.
  if ! mysql --protocol=tcp -h127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; then
    as_root mysql -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;" || true
  fi
fi
if mysql_up; then
  echo "setup: MariaDB answering on 127.0.0.1:3306"
else
  echo "setup: MariaDB is NOT answering on 127.0.0.1:3306; the MySQL tests will fail" >&2
fi

# --- PostgreSQL (trader's postgres backend and its tests; issue 15) -------------------------
# Diesel's postgres backend links libpq (libpq-dev to build). The tests use the server on
# 127.0.0.1:5432 as user postgres with trust authentication; start the installed cluster if
# it does not answer, install one if there is none.
if ! pkg-config --exists libpq 2>/dev/null; then
  echo "setup: installing libpq-dev (PostgreSQL client library for Diesel)"
  apt_install libpq-dev pkg-config
fi
pg_up() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "setup: installing postgresql"
    apt_install postgresql postgresql-client
  fi
  pg_version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_conf=/etc/postgresql/$pg_version/main
  # Trust for local TCP connections (a test machine; nothing listens beyond loopback).
  if ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$pg_conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$pg_conf/pg_hba.conf"
  fi
  echo "setup: starting PostgreSQL $pg_version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || \
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload || true
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
fi
if pg_up; then
  echo "setup: PostgreSQL answering on 127.0.0.1:5432"
else
  echo "setup: PostgreSQL is NOT answering on 127.0.0.1:5432; the PostgreSQL tests will fail" >&2
fi
# NATS with JetStream (the bus crate, `recorder --publish`, `alerter --source`): the tests
# start their own `nats-server -js` on a free port with a fresh store directory, so only the
# binary must be there (Debian's nats-server, /usr/sbin/nats-server).
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "setup: installing nats-server (JetStream tests)"
  apt_install nats-server
fi
# ops (metrics): Prometheus' `promtool` checks the /metrics exposition and deploy/'s rules,
# and a real `prometheus` scrapes the recorder in bins/recorder/tests/ops.rs (Debian's
# `prometheus` package brings both; its service is not started).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "setup: installing prometheus (promtool and the server, for the metrics tests)"
  apt_install --no-install-recommends prometheus
fi
# S3-compatible server (dataset on object storage, `recorder --out-dir s3://…`; issue 12):
# the tests start their own `moto_server` (PyPI `moto[server]`) on a free port through
# `sim::s3::S3Server`, so only the program must be there. Without one on PATH it goes into a
# virtualenv of its own ($MOTO_VENV, default ~/.cache/marketdata/moto), where sim looks too;
# nothing is installed into the system Python (Debian marks it externally managed).
moto_venv=${MOTO_VENV:-$HOME/.cache/marketdata/moto}
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x "$moto_venv/bin/moto_server" ]; then
  echo "setup: installing moto[server] from PyPI into $moto_venv (S3 tests)"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  python3 -m venv "$moto_venv"
  "$moto_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
fi
if command -v moto_server >/dev/null 2>&1 || [ -x "$moto_venv/bin/moto_server" ]; then
  echo "setup: moto_server available (the S3 tests start their own)"
else
  echo "setup: moto_server is NOT available; the S3 tests will fail" >&2
fi
# Dataset readers (scripts/readers-check.sh, `make demo`): the README's pyarrow and DuckDB lines
# are run against a dataset the recorder wrote. Pinned, in a virtualenv of their own
# ($READERS_VENV, default ~/.cache/marketdata/readers); nothing is installed when the pinned
# versions are there already.
readers_venv=${READERS_VENV:-$HOME/.cache/marketdata/readers}
readers_pins=(pyarrow==26.0.1 duckdb==2.0.0)
readers_ok() {
  "$readers_venv/bin/python" - "${readers_pins[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
}
if ! readers_ok; then
  echo "setup: installing ${readers_pins[*]} from PyPI into $readers_venv (dataset readers check)"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3 python3-venv
  fi
  [ -x "$readers_venv/bin/python" ] || python3 -m venv "$readers_venv"
  "$readers_venv/bin/python" -m pip install --quiet --disable-pip-version-check "${readers_pins[@]}"
fi
if readers_ok; then
  echo "setup: ${readers_pins[*]} available in $readers_venv"
else
  echo "setup: ${readers_pins[*]} are NOT available in $readers_venv; the readers check will fail" >&2
fi
