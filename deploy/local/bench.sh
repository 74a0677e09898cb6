#!/usr/bin/env bash
# `make bench`: release build, then the projection replay benchmark on fresh NATS and Postgres.
# Postgres runs durable (fsync on), as in production, for both the replay and the baseline.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh
cargo build --release --locked -p readstream-projector --bin readstream-projector-bench
data=$(mktemp -d /tmp/readstream-bench.XXXXXX)
trap 'stop_servers; rm -rf "$data"' EXIT
unset NATS_URL DATABASE_URL
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)"
DATABASE_URL=$DATABASE_ADMIN_URL target/release/readstream-projector-bench "$@"
