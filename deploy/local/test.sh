#!/usr/bin/env bash
# `make test`: throwaway NATS 2.12 and Postgres (installed if missing), then every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh

data=$(mktemp -d /tmp/readstream-test.XXXXXX)
trap 'stop_servers; rm -rf "$data"' EXIT
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)" --throwaway
echo "test servers: $NATS_URL, $DATABASE_ADMIN_URL"

# Each test creates its own database and namespace on these servers.
export DATABASE_URL=$DATABASE_ADMIN_URL SQLX_OFFLINE=true
# The stack tests start `make run`'s processes from target/debug, as a user would.
cargo build --workspace --bins --locked
cargo test --workspace --all-targets --locked "$@"
