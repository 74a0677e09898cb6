# Sourced by the other scripts: brings up NATS and Postgres unless NATS_URL / DATABASE_URL name
# servers that already run, and stops what it started on exit.
#   start_servers <data_dir> <nats_port> <pg_port> [--throwaway]
# Durable unless --throwaway (tests): both fsync every acknowledged write.
# Exports NATS_URL and DATABASE_ADMIN_URL (the `postgres` database of the server).

servers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
started_nats="" started_pg=""

stop_servers() {
    [[ -n $started_nats ]] && "$servers_dir/stop-nats.sh" "$started_nats" >/dev/null 2>&1 || true
    [[ -n $started_pg ]] && "$servers_dir/stop-postgres.sh" "$started_pg" >/dev/null 2>&1 || true
}

start_servers() {
    local data=$1 nats_port=$2 pg_port=$3 mode=${4:-}
    mkdir -p "$data" && chmod 755 "$data"
    if [[ -z ${NATS_URL:-} ]]; then
        NATS_URL=$("$servers_dir/start-nats.sh" "$data/nats" "$nats_port" $mode | tail -n 1)
        started_nats="$data/nats"
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
