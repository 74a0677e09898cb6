#!/usr/bin/env bash
# `make run`: the whole system on this machine, the embedded default. NATS 2.12 and Postgres
# (installed if missing) keep their data under .data/; every service runs as its own process;
# demo data is loaded through the public API. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh

profile=${PROFILE:-debug}
gateway_addr=${GATEWAY_ADDR:-127.0.0.1:8080}
cargo build --locked $([[ $profile == release ]] && echo --release) --bins
bin="$root/target/$profile"

pids=()
shutdown() {
    trap - INT TERM EXIT
    echo "stopping readstream…"
    ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
    ((${#pids[@]})) && wait "${pids[@]}" 2>/dev/null || true
    stop_servers
}
trap shutdown INT TERM EXIT

# Durable: fsync stays on; ports are the embedded default's own.
start_servers "$root/.data" "${RUN_NATS_PORT:-4223}" "${RUN_PG_PORT:-5433}"
export DATABASE_URL=${DATABASE_URL:-$(create_database readstream)}
export GATEWAY_ADDR=$gateway_addr

"$bin/readstream-projector" & pids+=($!)
"$bin/readstream-catalog" & pids+=($!)
"$bin/readstream-ratings" & pids+=($!)
"$bin/readstream-reading" & pids+=($!)
"$bin/readstream-reviews" & pids+=($!)
"$bin/readstream-social" & pids+=($!)
"$bin/readstream-gateway" & pids+=($!)

"$bin/readstream-seed" --gateway "http://$gateway_addr"
echo
echo "readstream is running: GraphQL (and GraphiQL) at http://$gateway_addr/graphql"
echo "subscriptions at ws://$gateway_addr/graphql/ws; Ctrl-C stops everything"
wait -n "${pids[@]}"
