#!/usr/bin/env bash
# `make test`: throwaway NATS 2.12 and Postgres (installed if missing), Chromium and the browser
# tests' npm packages (installed if missing), then every test, then the
# quick mode of `make faults` (3 cycles) on servers of its own, and its cluster mode (a
# three-node NATS cluster whose stream leader is killed twice under load). Arguments go to the
# test runner (a filter, say); with arguments, `make faults` is left out.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh

data=$(mktemp -d /tmp/readstream-test.XXXXXX)
trap 'stop_servers; rm -rf "$data"' EXIT
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)" --throwaway
echo "test servers: $NATS_URL, $DATABASE_ADMIN_URL"

# The browser tests drive Debian's Chromium with the npm packages tests/browser pins.
READSTREAM_CHROMIUM=$(deploy/local/install-browser.sh | tail -n 1)
export READSTREAM_CHROMIUM
# Each test creates its own database and namespace on these servers.
export DATABASE_URL=$DATABASE_ADMIN_URL SQLX_OFFLINE=true
# The stack tests start `make run`'s processes from target/debug, as a user would.
cargo build --workspace --bins --locked
if command -v cargo-nextest >/dev/null; then
    # Every test in a process of its own, two at a time across the test binaries: the stack
    # tests (`make run` started as a user would) run beside the end-to-end ones. More at once
    # starve the projections of the tests' systems on 2 cores.
    cargo nextest run --workspace --all-targets --locked --test-threads 2 --no-fail-fast "$@"
else
    cargo test --workspace --all-targets --locked "$@"
fi
if (($# == 0)); then
    deploy/local/faults.sh --cycles 3
    deploy/local/faults.sh --cluster --cycles 2
fi
