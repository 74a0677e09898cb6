# Sourced by the other scripts: brings up NATS and Postgres unless NATS_URL / DATABASE_URL name
# servers that already run, and stops what it started on exit.
#   start_servers <data_dir> <nats_port> <pg_port> [--throwaway]
# Durable unless --throwaway (tests): both fsync every acknowledged write.
# NATS_NODES=3: a three-node JetStream cluster instead of one server, on <nats_port> and the
# next two, with the event stream at three replicas (READSTREAM_STREAM_REPLICAS=3).
# Exports NATS_URL and DATABASE_ADMIN_URL (the `postgres` database of the server).

servers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
started_nats=() started_pg=""

stop_servers() {
    local node
    for node in "${started_nats[@]}"; do
        "$servers_dir/stop-nats.sh" "$node" >/dev/null 2>&1 || true
    done
    [[ -n $started_pg ]] && "$servers_dir/stop-postgres.sh" "$started_pg" >/dev/null 2>&1 || true
}

start_servers() {
    local data=$1 nats_port=$2 pg_port=$3 mode=${4:-}
    mkdir -p "$data" && chmod 755 "$data"
    if [[ -z ${NATS_URL:-} ]]; then
        case ${NATS_NODES:-1} in
            1)
                started_nats=("$data/nats")
                NATS_URL=$("$servers_dir/start-nats.sh" "$data/nats" "$nats_port" $mode | tail -n 1)
                ;;
            3)
                started_nats=("$data/nats/node-1" "$data/nats/node-2" "$data/nats/node-3")
                NATS_URL=$("$servers_dir/start-nats-cluster.sh" "$data/nats" \
                    "$nats_port" "$((nats_port + 1))" "$((nats_port + 2))" $mode | tail -n 1)
                export READSTREAM_STREAM_REPLICAS=3
                ;;
            *)
                echo "servers: NATS_NODES must be 1 or 3, not ${NATS_NODES}" >&2
                return 1
                ;;
        esac
    fi
    if [[ -z ${DATABASE_URL:-} ]]; then
        DATABASE_ADMIN_URL=$("$servers_dir/start-postgres.sh" "$data/postgres" "$pg_port" $mode | tail -n 1)
        started_pg="$data/postgres"
    else
        DATABASE_ADMIN_URL="${DATABASE_URL%/*}/postgres"
    fi
    export NATS_URL DATABASE_ADMIN_URL
}

# create_database <name>: creates it on the server if missing; prints its URL.
create_database() {
    local name=$1
    if ! psql -qtAX "$DATABASE_ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        psql -qX "$DATABASE_ADMIN_URL" -c "CREATE DATABASE $name" >/dev/null
    fi
    echo "${DATABASE_ADMIN_URL%/*}/$name"
}
