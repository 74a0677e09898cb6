#!/usr/bin/env bash
# `make sqlx-prepare`: refreshes .sqlx/, the offline data that lets every build check its SQL
# without a database. Run it after changing a query or a migration, and commit the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh
data=$(mktemp -d /tmp/readstream-sqlx.XXXXXX)
trap 'stop_servers; rm -rf "$data"' EXIT
unset DATABASE_URL
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)" --throwaway
export DATABASE_URL=$(create_database readstream)
for migration in schema/migrations/*.sql; do psql -qX -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$migration" >/dev/null; done
rm -rf .sqlx && mkdir .sqlx
# Touching the crates that hold queries makes cargo expand their macros again.
touch crates/*/src/lib.rs services/*/src/lib.rs services/*/tests/*.rs crates/*/tests/*.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$root/.sqlx" cargo check --workspace --all-targets --quiet
echo "wrote $(ls .sqlx | wc -l) queries to .sqlx/"
