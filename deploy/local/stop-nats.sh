#!/usr/bin/env bash
# Stop the nats-server started by start-nats.sh for <data_dir> (SIGTERM, wait up to 5 s,
# then SIGKILL). OK if it is not running.
# Usage: deploy/local/stop-nats.sh <data_dir>
set -euo pipefail

die() { echo "stop-nats: error: $*" >&2; exit 1; }
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 <data_dir>" >&2; exit 2; }

data_dir=$(realpath -m -- "$1")
pid_file="$data_dir/nats.pid"
port_file="$data_dir/nats.port"
[[ -f "$pid_file" ]] || exit 0

alive_nats() {
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == nats-server ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$state" != Z ]]
}

pid=$(cat "$pid_file" 2>/dev/null || true)
if alive_nats "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do   # up to 5 s
        alive_nats "$pid" || break
        sleep 0.1
    done
    if alive_nats "$pid"; then
        echo "stop-nats: warning: nats-server (pid $pid) did not exit within 5 s of SIGTERM; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do alive_nats "$pid" || break; sleep 0.1; done
        alive_nats "$pid" && die "could not stop nats-server (pid $pid)"
    fi
fi
rm -f "$pid_file" "$port_file"
