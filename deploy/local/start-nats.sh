#!/usr/bin/env bash
# Start nats-server (JetStream on) in the background, listening on 127.0.0.1:<port>.
# Usage: deploy/local/start-nats.sh <data_dir> <port> [--throwaway]
# Durable by default: JetStream fsyncs every write before it acknowledges it (sync_interval:
# always), so an acknowledged event survives a power cut. --throwaway (tests) keeps the
# server's default, a sync every 2 minutes: acknowledged writes of the last 2 minutes can be
# lost with the machine, not with the process.
# NATS_HTTP_PORT (optional): also serve the monitoring endpoints (/varz, /jsz) on that port.
# NATS_CLUSTER_PORT and NATS_ROUTES (optional, start-nats-cluster.sh sets them): join a
# JetStream cluster named readstream as server NATS_SERVER_NAME, listening for routes on that
# port and dialling NATS_ROUTES (comma-separated nats-route:// URLs of the other nodes).
# Files: <data_dir>/nats.conf, <data_dir>/jetstream (store), <data_dir>/nats.pid, <data_dir>/nats.log
# Reuses a live server from <data_dir>/nats.pid. Prints nats://127.0.0.1:<port> as the last line.
set -euo pipefail

die() { echo "start-nats: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 <data_dir> <port> [--throwaway]" >&2; exit 2; }
[[ ($# -eq 2 || ($# -eq 3 && $3 == --throwaway)) && -n "$1" ]] || usage
sync_interval=always
[[ ${3:-} == --throwaway ]] && sync_interval=""
http_port=${NATS_HTTP_PORT:-}
[[ -z $http_port || $http_port =~ ^[0-9]{1,5}$ ]] || die "invalid NATS_HTTP_PORT '$http_port'"
cluster_port=${NATS_CLUSTER_PORT:-}
[[ -z $cluster_port || $cluster_port =~ ^[0-9]{1,5}$ ]] || die "invalid NATS_CLUSTER_PORT '$cluster_port'"
routes=${NATS_ROUTES:-}
[[ $routes =~ ^[a-z:/0-9.,-]*$ ]] || die "invalid NATS_ROUTES '$routes'"
server_name=${NATS_SERVER_NAME:-}
[[ $server_name =~ ^[a-z0-9-]*$ ]] || die "invalid NATS_SERVER_NAME '$server_name'"
port=$2
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || (( 10#$port < 1 || 10#$port > 65535 )); then
    die "invalid port '$port'"
fi
port=$((10#$port))

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
data_dir=$(realpath -m -- "$1")
pid_file="$data_dir/nats.pid"
port_file="$data_dir/nats.port"
log_file="$data_dir/nats.log"
url="nats://127.0.0.1:$port"

alive_nats() { # <pid>: true if it is a live (non-zombie) nats-server process
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == nats-server ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$state" != Z ]]
}

# <pid>: true while the process started below runs, before or after it has become nats-server
# (between the fork and its exec it is still this script).
started() {
    local pid=$1 state
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$state" != Z ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ -f "$pid_file" ]]; then
    old_pid=$(cat "$pid_file" 2>/dev/null || true)
    if alive_nats "$old_pid"; then
        old_port=$(cat "$port_file" 2>/dev/null || true)
        if [[ -n "$old_port" && "$old_port" != "$port" ]]; then
            die "nats-server (pid $old_pid) already runs on $data_dir but on port $old_port, not $port"
        fi
        port_open "$port" || die "nats-server (pid $old_pid) is running but 127.0.0.1:$port does not accept connections"
        echo "$url"
        exit 0
    fi
    rm -f "$pid_file" "$port_file"
fi

bin=$("$script_dir/install-nats.sh" | tail -n 1) || die "install-nats.sh failed"
[[ -x "$bin" ]] || die "install-nats.sh did not yield an executable ($bin)"

if port_open "$port"; then
    die "127.0.0.1:$port is already in use by another process"
fi

mkdir -p -- "$data_dir/jetstream"
conf="$data_dir/nats.conf"
{
    echo "listen: 127.0.0.1:$port"
    [[ -n $http_port ]] && echo "http: 127.0.0.1:$http_port"
    if [[ -n $cluster_port ]]; then
        echo "server_name: ${server_name:-node-$port}"
        echo "cluster {"
        echo "  name: readstream"
        echo "  listen: 127.0.0.1:$cluster_port"
        echo "  routes: [${routes//,/, }]"
        echo "}"
    fi
    echo "jetstream {"
    echo "  store_dir: \"$data_dir/jetstream\""
    [[ -n $sync_interval ]] && echo "  sync_interval: $sync_interval"
    echo "}"
} >"$conf"
"$bin" -c "$conf" >>"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"
echo "$port" >"$port_file"

for _ in $(seq 1 100); do   # ~10 s
    if ! started "$pid"; then
        rm -f "$pid_file" "$port_file"
        echo "--- last lines of $log_file ---" >&2
        tail -n 20 "$log_file" >&2 || true
        die "nats-server exited during startup"
    fi
    if port_open "$port"; then
        echo "$url"
        exit 0
    fi
    sleep 0.1
done
kill -TERM "$pid" 2>/dev/null || true
rm -f "$pid_file" "$port_file"
echo "--- last lines of $log_file ---" >&2
tail -n 20 "$log_file" >&2 || true
die "nats-server did not accept connections on 127.0.0.1:$port within 10 s (stopped it)"
