#!/usr/bin/env bash
# Stop the PostgreSQL server running on <data_dir> (fast mode). OK if it is not running.
# Usage: deploy/local/stop-postgres.sh <data_dir>
set -euo pipefail

die() { echo "stop-postgres: error: $*" >&2; exit 1; }
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 <data_dir>" >&2; exit 2; }

data_dir=$(realpath -m -- "$1")
# Nothing to do if there is no cluster or no postmaster.pid.
[[ -f "$data_dir/PG_VERSION" && -f "$data_dir/postmaster.pid" ]] || exit 0

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
bindir=$("$script_dir/install-postgres.sh" | tail -n 1) || die "install-postgres.sh failed"

if [[ $(id -u) -eq 0 ]]; then
    as_pg() { (cd / && runuser -u "$(stat -c %U -- "$data_dir")" -- "$@"); }
else
    as_pg() { (cd / && "$@"); }
fi

as_pg "$bindir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1 || exit 0
out=$(as_pg "$bindir/pg_ctl" -D "$data_dir" -m fast -w -t 60 stop 2>&1) || {
    # It may have exited in the meantime.
    as_pg "$bindir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1 || exit 0
    echo "$out" >&2
    die "pg_ctl stop failed for $data_dir"
}
