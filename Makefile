# readstream — everything a contributor runs. See README.md.
.PHONY: run test fuzz faults bench lint fmt schema sqlx-prepare build clean-data

export SQLX_OFFLINE ?= true
## DATA_DIR: where `make run` keeps NATS's and Postgres's data and the processes' logs
export DATA_DIR ?= .data

## run: the whole system locally (installs NATS 2.12 and Postgres if missing), with demo data
run:
	deploy/local/run.sh

## test: throwaway NATS and Postgres, then every test, then make faults' quick mode (ARGS=<filter> runs only matching tests)
test:
	deploy/local/test.sh $(ARGS)

## fuzz: make test's generated hostile documents, many more of them (CASES, default 5000), against the strict bounds: each answered within 50 ms (plus 2 ms per KiB of body), a probe query's p99 under 100 ms (150 ms in a debug build)
fuzz:
	FUZZ_CASES=$(or $(CASES),5000) FUZZ_STRICT=1 deploy/local/test.sh adversarial_documents

## faults: kill -9 every process and restart NATS and Postgres under load, 20 cycles, then check nothing acknowledged was lost or applied twice (ARGS="--cycles 3" for the quick mode; ARGS="--cluster" on a three-node NATS cluster, killing the stream leader's node each cycle)
faults:
	deploy/local/faults.sh $(ARGS)

## bench: every benchmark against durable servers (docs/benchmarks.md lists them); QUICK=1 runs each on less data in a few minutes
bench:
	deploy/local/bench.sh $(if $(QUICK),--quick) $(ARGS)

## lint: formatting and clippy, warnings are errors
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

## schema: regenerate schema/schema.graphql from the gateway's code
schema:
	cargo run --quiet --locked -p readstream-gateway -- --print-schema > schema/schema.graphql

## sqlx-prepare: refresh the offline query data in .sqlx/ after changing SQL
sqlx-prepare:
	deploy/local/sqlx-prepare.sh

build:
	cargo build --workspace --locked --bins

## clean-data: forget everything `make run` stored under DATA_DIR (default .data/), first
## stopping a NATS or Postgres an earlier run left running on it
clean-data:
	deploy/local/stop-postgres.sh "$(DATA_DIR)/postgres"
	for node in "$(DATA_DIR)/nats" "$(DATA_DIR)"/nats/node-*; do deploy/local/stop-nats.sh "$$node"; done
	rm -rf -- "$(DATA_DIR)"
