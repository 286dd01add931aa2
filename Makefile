# Two commands matter: `make demo` (the recorder against the local simulated exchange) and
# `make test` (everything CI checks). See README.md.

CARGO ?= cargo
DEMO_DIR ?= demo-data
DEMO_SECS ?= 8
SIM_PORT ?= 18765

.PHONY: test setup fmt-check clippy doc-check unit link-check demo demo-live bench init up down clean db-reset

## Everything CI runs: set-up, formatting, lints, API docs, the whole test suite, the link check.
test: setup fmt-check clippy doc-check unit link-check layer-check docs-check checks-selftest readers-check

setup:
	@bash scripts/setup-test-env.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The libraries are meant to be imported: their docs must build without broken links.
doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

unit:
	$(CARGO) test --workspace

## The recorder and the alerter must not link Diesel or a database client; the trader not arrow or parquet.
link-check:
	@bash scripts/link-check.sh

.PHONY: layer-check docs-check checks-selftest readers-check

## The layering rules of ARCHITECTURE.md, on the resolved dependency graph.
layer-check:
	@bash scripts/layer-check.sh

## The docs point at nothing outside the repository and state the Rust the workspace needs.
docs-check:
	@bash scripts/docs-check.sh

## The checks above can fail: each rule broken in a scratch copy must be reported.
checks-selftest:
	@bash scripts/checks-selftest.sh

## The README's dataset readers (pyarrow, DuckDB) find what the dataset reader finds in a dataset
## the recorder wrote (UTF-8 symbol names, _gaps beside the partitions).
readers-check:
	@bash scripts/readers-check.sh

## The recorder against the local simulated exchange for a few seconds, then the files it wrote,
## read back by the dataset reader and by each of pandas, pyarrow, DuckDB, polars installed
## (PYTHON=... picks the Python; default the venv `make setup` fills, else python3).
demo:
	@bash scripts/demo.sh "$(DEMO_DIR)" "$(DEMO_SECS)" "$(SIM_PORT)"

## The recorder against the real Binance (needs internet); Ctrl-C to stop.
demo-live:
	$(CARGO) run --release -p recorder -- --out-dir data

## Benchmarks (release builds; slow the first time). Figures are in BENCHMARKS.md.
bench:
	$(CARGO) bench -p dataset --bench checkpoint
	$(CARGO) bench -p record --bench ingest
	$(CARGO) bench -p record --bench journal
	$(CARGO) bench -p record --bench compact
	$(CARGO) bench -p alerting --bench latency
	$(CARGO) bench -p alerting --bench bus_latency
	$(CARGO) bench -p trading --bench cycle

## The trader's database from scratch: every table emptied (DATABASE_URL, default the SQLite
## file storage/trader.db; schema and migrations kept). PORTFOLIO=name empties only that one.
db-reset:
	$(CARGO) run -q -p trader -- db reset --yes $(if $(PORTFOLIO),--portfolio $(PORTFOLIO))

## Docker (needs a Docker engine): build images, start MySQL + the tools, stop them.
init:
	docker compose -f docker/docker-compose.yml build

up:
	docker compose -f docker/docker-compose.yml up -d

down:
	docker compose -f docker/docker-compose.yml down

clean:
	rm -rf $(DEMO_DIR) $(DEMO_DIR).recorder.log
