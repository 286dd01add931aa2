#!/usr/bin/env bash
# The layering rules of ARCHITECTURE.md ("Layers"), checked on the dependency graph that
# cargo resolves (normal dependencies only; dev-dependencies may point anywhere):
#   1. no crate depends on a workspace crate of a higher layer (0 < 1 < 2 < 3 binaries):
#      a client never on a pipeline, a pipeline never on a binary (within a layer, e.g. a
#      client on `logging`, is allowed);
#   2. no layer-0 crate depends, even indirectly, on tokio, reqwest, diesel, arrow, parquet
#      or another outside client;
#   3. only exchange-sim depends on `sim` (everyone else: dev-dependencies only);
#   4. every crate has its row in ARCHITECTURE.md's layer table (the table and this script
#      say the same);
#   5. nothing depends on `testkit` (the tests' helpers) but through dev-dependencies.
# Every feature is on (--all-features): a dependency behind a feature counts too.
# `bash scripts/checks-selftest.sh` proves that each rule fails on a violation.
# The recorder and the alerter linking no database client is scripts/link-check.sh.
# A new crate must be given its layer below (the check fails until it is).
set -euo pipefail

layer_of() {
  case $1 in
    events | alert | portfolio) echo 0 ;;
    binance | pricing | dataset | ledger | logging | bus | ops) echo 1 ;;
    record | alerting | trading) echo 2 ;;
    recorder | alerter | trader | exchange-sim) echo 3 ;;
    sim) echo sim ;;
    testkit) echo dev ;;
    *) echo unknown ;;
  esac
}

# Crates a layer-0 crate must never reach.
outside='^(tokio|tokio-tungstenite|tungstenite|reqwest|hyper|diesel|diesel_migrations|mysqlclient-sys|libsqlite3-sys|pq-sys|arrow-[a-z]+|arrow|parquet|object_store|async-nats|rustls)$'

tree() { cargo tree -e normal --all-features --prefix none "$@" 2>/dev/null | awk '{print $1}'; }

if ! roots=$(cargo tree --workspace -e normal --all-features --depth 0 --prefix none 2>&1); then
  echo "layer-check: cargo cannot resolve the workspace's dependency graph:" >&2
  echo "$roots" >&2
  exit 1
fi
members=$(awk 'NF {print $1}' <<<"$roots" | sort -u)
status=0
bad() { echo "layer-check: $*" >&2; status=1; }

for m in $members; do
  l=$(layer_of "$m")
  if [ "$l" = unknown ]; then
    bad "crate '$m' has no layer: add it to scripts/layer-check.sh and ARCHITECTURE.md"
    continue
  fi
  # Rule 4: the crate is in ARCHITECTURE.md's layer table (sim, testkit: their own paragraph).
  if [ "$l" = dev ]; then
    grep -q '`testkit`' ARCHITECTURE.md || bad "ARCHITECTURE.md does not say where \`testkit\` stands"
    continue
  fi
  if [ "$l" = sim ]; then
    grep -q '^`sim` stands beside the layers' ARCHITECTURE.md ||
      bad "ARCHITECTURE.md does not say where \`sim\` stands"
    continue
  fi
  grep -E "^\| $l " ARCHITECTURE.md | grep -qF "\`$m\`" ||
    bad "crate '$m' (layer $l) is missing from ARCHITECTURE.md's layer table (row $l)"
  # Rule 1: direct workspace dependencies are of lower layers (sim only for exchange-sim).
  for d in $(tree -p "$m" --depth 1 | tail -n +2 | sort -u); do
    grep -qx "$d" <<<"$members" || continue
    dl=$(layer_of "$d")
    if [ "$dl" = dev ]; then
      bad "$m (layer $l) depends on $d; only dev-dependencies may"
    elif [ "$dl" = sim ]; then
      [ "$m" = exchange-sim ] || bad "$m (layer $l) depends on sim; only dev-dependencies may"
    elif [ "$dl" = unknown ] || [ "$dl" -gt "$l" ]; then
      bad "$m (layer $l) depends on $d (layer $dl): a crate never depends on a higher layer"
    fi
  done
  all=$(tree -p "$m" | sort -u)
  # Rule 2: layer 0 is pure.
  if [ "$l" = 0 ]; then
    hits=$(grep -E "$outside" <<<"$all" | tr '\n' ' ' || true)
    [ -z "$hits" ] || bad "$m is layer 0 (pure) but depends on: $hits"
  fi
  # Rule 3: not even indirectly on sim.
  if [ "$m" != exchange-sim ] && grep -qx sim <<<"$all"; then
    bad "$m depends on sim through a normal dependency; only dev-dependencies may"
  fi
  # Rule 6: the venue crate knows only the core; the pipeline no output.
  direct=$(tree -p "$m" --depth 1 | tail -n +2 | sort -u)
  case $m in
    binance)
      for d in $direct; do
        grep -qx "$d" <<<"$members" || continue
        [ "$d" = events ] || bad "binance (the venue crate) depends on $d; it may depend only on events"
      done ;;
    record)
      ! grep -qx bus <<<"$direct" ||
        bad "record depends on bus; outputs implement events::EventSink below the pipeline" ;;
  esac
  # Rule 5: not even indirectly on testkit.
  if grep -qx testkit <<<"$all"; then
    bad "$m depends on testkit through a normal dependency; only dev-dependencies may"
  fi
done
[ $status = 0 ] && echo "layer-check: $(wc -w <<<"$members") crates follow the layering rules"
exit $status
