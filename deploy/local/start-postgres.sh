#!/usr/bin/env bash
# Start (creating if needed) a local PostgreSQL cluster owned by the `postgres` user.
# Usage: deploy/local/start-postgres.sh <data_dir> <port> [--throwaway]
#   --throwaway  run with fsync/synchronous_commit/full_page_writes off (test data only)
# Reuses an existing cluster in <data_dir> and a server already running on it.
# Prints the connection URL postgres://postgres@127.0.0.1:<port>/postgres as the last line.
set -euo pipefail

die() { echo "start-postgres: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 <data_dir> <port> [--throwaway]" >&2; exit 2; }

[[ $# -ge 2 && $# -le 3 ]] || usage
data_arg=$1 port=$2 throwaway=0
if [[ $# -eq 3 ]]; then
    [[ $3 == --throwaway ]] || usage
    throwaway=1
fi
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || (( 10#$port < 1 || 10#$port > 65535 )); then
    die "invalid port '$port'"
fi
port=$((10#$port))
[[ -n "$data_arg" ]] || usage

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
bindir=$("$script_dir/install-postgres.sh" | tail -n 1) || die "install-postgres.sh failed"
[[ -n "$bindir" ]] || die "install-postgres.sh printed no bin directory"

# Absolute, normalized data dir path (it need not exist yet).
data_dir=$(realpath -m -- "$data_arg")
[[ "$data_dir" != / ]] || die "refusing to use / as data dir"
[[ "$data_dir" != *[\'\"\\]* ]] || die "data dir path must not contain quotes or backslashes: $data_dir"

# The Unix socket lives in the data dir; its path must fit in sun_path (107 bytes).
sock="$data_dir/.s.PGSQL.$port"
(( ${#sock} <= 107 )) || die "data dir path too long for a Unix socket ($sock is ${#sock} bytes, max 107); use a shorter path"

# PostgreSQL refuses to run as root: as root, run everything as user postgres.
if [[ $(id -u) -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /bin/sh postgres || die "could not create user postgres"
    fi
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
    pg_owner=postgres
else
    as_pg() { (cd / && "$@"); }
    pg_owner=$(id -un)
fi

# A server an earlier run left behind on this port whose data folder is gone since (removed
# while it ran, perhaps made anew: its run was cut short before it stopped it): it can serve
# nothing of this run and pg_ctl can't reach it, so stop its postmaster here, named, instead
# of failing on the port: before a new cluster is made in the folder, and immediately (SIGQUIT),
# so it writes nothing more (its data went with its folder).
orphan_on_port() {
    local cmdline pid args dir
    for cmdline in /proc/[0-9]*/cmdline; do
        pid=${cmdline#/proc/}; pid=${pid%/cmdline}
        mapfile -d '' -t args <"$cmdline" 2>/dev/null || continue
        [[ ${#args[@]} -gt 4 && ${args[0]##*/} == postgres ]] || continue
        [[ " ${args[*]} " == *" -p $port "* ]] || continue
        dir=""
        for i in "${!args[@]}"; do [[ ${args[$i]} == -D ]] && dir=${args[$((i + 1))]:-}; done
        # Its folder's postmaster.pid names another server, or none: the folder it ran on is gone.
        [[ -n $dir && $(head -n 1 "$dir/postmaster.pid" 2>/dev/null) != "$pid" ]] && { echo "$pid $dir"; return 0; }
    done
    return 1
}
if orphan=$(orphan_on_port); then
    read -r orphan_pid orphan_dir <<<"$orphan"
    echo "start-postgres: a server of an earlier run (pid $orphan_pid, on $orphan_dir as it was before it was removed) still holds port $port; stopping it" >&2
    kill -QUIT "$orphan_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$orphan_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$orphan_pid" 2>/dev/null && die "the earlier server (pid $orphan_pid) did not stop within 30 s"
fi

# Create missing parent dirs; make just the ones we created traversable.
parent=$(dirname "$data_dir")
created=()
p=$parent
while [[ ! -e "$p" ]]; do created+=("$p"); p=$(dirname "$p"); done
[[ -d "$p" ]] || die "$p exists and is not a directory"
mkdir -p -- "$parent"
for p in "${created[@]}"; do chmod 0755 -- "$p"; done
[[ -d "$parent" ]] || die "$parent is not a directory"
if ! as_pg test -x "$parent"; then
    blocker=$parent
    p=/
    while IFS= read -r part; do
        [[ -n "$part" ]] || continue
        p=${p%/}/$part
        if ! as_pg test -x "$p"; then blocker=$p; break; fi
    done < <(tr '/' '\n' <<<"$parent")
    die "user $pg_owner cannot traverse $blocker (on the path to $data_dir); make it searchable (e.g. chmod o+x '$blocker' or chmod 755 on a mktemp -d dir) or use a data dir elsewhere"
fi

if [[ -f "$data_dir/PG_VERSION" ]]; then
    : # existing cluster: reuse it
elif [[ -e "$data_dir" && -n "$(ls -A -- "$data_dir" 2>/dev/null)" ]]; then
    die "$data_dir exists, is not empty and holds no PostgreSQL cluster (no PG_VERSION); refusing to touch it"
else
    mkdir -p -- "$data_dir"
    chown "$pg_owner:" -- "$data_dir"
    chmod 0700 -- "$data_dir"
    initdb_opts=(-D "$data_dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8)
    (( throwaway )) && initdb_opts+=(--no-sync)
    initdb_log=$(mktemp)
    if ! as_pg "$bindir/initdb" "${initdb_opts[@]}" >"$initdb_log" 2>&1; then
        cat "$initdb_log" >&2; rm -f "$initdb_log"
        die "initdb failed for $data_dir"
    fi
    rm -f "$initdb_log"
fi

owner=$(stat -c %U -- "$data_dir")
[[ "$owner" == "$pg_owner" ]] || die "$data_dir is owned by $owner, not $pg_owner"
as_pg test -w "$data_dir" || die "user $pg_owner cannot write to $data_dir"

url="postgres://postgres@127.0.0.1:$port/postgres"

if as_pg "$bindir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; then
    # Already running: make sure it is on the requested port.
    running_port=$(sed -n 4p "$data_dir/postmaster.pid" 2>/dev/null || true)
    if [[ -n "$running_port" && "$running_port" != "$port" ]]; then
        die "a server is already running on $data_dir but on port $running_port, not $port"
    fi
else
    opts="-p $port -k '$data_dir' -c listen_addresses=127.0.0.1 -c max_connections=300"
    (( throwaway )) && opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_pg "$bindir/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -o "$opts" -w -t 60 start >/dev/null 2>&1; then
        echo "--- last lines of $data_dir/server.log ---" >&2
        tail -n 30 "$data_dir/server.log" >&2 2>/dev/null || true
        die "pg_ctl start failed (port $port in use, or see the log above)"
    fi
fi

for _ in $(seq 1 150); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
        echo "$url"
        exit 0
    fi
    sleep 0.2
done
die "server on $data_dir did not become ready on 127.0.0.1:$port within 30 s (see $data_dir/server.log)"
