#!/usr/bin/env bash
# `make run`: the whole system on this machine, the embedded default. NATS 2.12 and Postgres
# (installed if missing) keep their data under DATA_DIR (default .data/); every service runs as
# its own process, its output shown here and kept in DATA_DIR/logs/<process>.log. Once every
# process is ready (readstream-ready), demo data is loaded through the public API and the URL
# printed. A process that is not ready within READY_TIMEOUT_SECS, or that exits, stops the start
# with its name and its last lines. Once started, a process that exits (a crash, kill -9) is
# started again with backoff. Ctrl-C stops everything.
#
# Settings (environment): DATA_DIR, JWT_SECRET (made once into DATA_DIR/jwt-secret),
# GATEWAY_ADDR (127.0.0.1:8080), RUN_NATS_PORT (4223), RUN_PG_PORT (5433), READY_TIMEOUT_SECS
# (60), STOP_TIMEOUT_SECS (15), HEALTH_PORT_BASE (unset: every process's /healthz, /readyz and
# /metrics on this port and the next six, in the order of `services`, then the gateway), RESTART_RESET_SECS (60: how long a restarted process must run
# before its restart delay starts over from 1 s), PROFILE (debug|release),
# DEMO_LIBRARIES (1; 0 leaves out the demo reviewers' libraries and followers, loaded in the
# background), NATS_URL / DATABASE_URL (use servers that already run), BIN_DIR (use binaries built already;
# skips the build), NATS_NODES (1, or 3: a three-node JetStream cluster on RUN_NATS_PORT and the
# next two ports, the stream at three replicas, and two of every process: the second of each
# named <name>-2, the second gateway on GATEWAY2_ADDR, by default the gateway's port + 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh

profile=${PROFILE:-debug}
data=$(realpath -m -- "${DATA_DIR:-.data}")
gateway_addr=${GATEWAY_ADDR:-127.0.0.1:8080}
ready_timeout=${READY_TIMEOUT_SECS:-60}
if [[ -z ${BIN_DIR:-} ]]; then
    cargo build --locked $([[ $profile == release ]] && echo --release) --bins
    BIN_DIR="$root/target/$profile"
fi

# The processes, in start order: the services answer readiness probes over NATS under these
# names, the gateway on /readyz.
services=(projector catalog ratings reading reviews social worker)
processes=("${services[@]}" gateway)
gateways=("$gateway_addr")
if [[ ${NATS_NODES:-1} == 3 ]]; then
    # Two of each: the command services share their commands (one queue group per service),
    # each projection is run by one projector at a time (its lock), the other taking over.
    for name in "${processes[@]}"; do
        processes+=("$name-2")
    done
    gateways+=("${GATEWAY2_ADDR:-${gateway_addr%:*}:$((${gateway_addr##*:} + 1))}")
fi
declare -A pid_of=()
ready_pid="" log_follower=""
# Stops every process (SIGTERM, then SIGKILL for one still running after STOP_TIMEOUT_SECS,
# named), then the servers.
shutdown() {
    # A second Ctrl-C or TERM (make forwards one; a group kill sends its own) must not cut the
    # stop short: ignored from here, so the servers are always stopped too.
    trap '' INT TERM
    trap - EXIT
    echo "stopping readstream…"
    [[ -n $ready_pid ]] && kill -TERM "$ready_pid" 2>/dev/null || true
    ((${#pid_of[@]})) && kill -TERM "${pid_of[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + ${STOP_TIMEOUT_SECS:-15})) name
    for name in "${!pid_of[@]}"; do
        while kill -0 "${pid_of[$name]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        if kill -0 "${pid_of[$name]}" 2>/dev/null; then
            echo "readstream: $name did not stop within ${STOP_TIMEOUT_SECS:-15} s; killing it" >&2
            kill -KILL "${pid_of[$name]}" 2>/dev/null || true
        fi
    done
    ((${#pid_of[@]})) && wait "${pid_of[@]}" 2>/dev/null || true
    [[ -n $log_follower ]] && kill "$log_follower" 2>/dev/null || true
    stop_servers
}
trap shutdown EXIT
trap 'shutdown; exit 0' INT TERM

# Names a process that failed to start, with the last lines it wrote.
fail_start() {
    local name=$1 why=$2
    echo >&2
    echo "readstream: $name $why; its last lines ($data/logs/$name.log):" >&2
    tail -n 20 "$data/logs/$name.log" 2>/dev/null | sed 's/^/  | /' >&2 || true
}

# Durable: fsync stays on; ports are the embedded default's own.
start_servers "$data" "${RUN_NATS_PORT:-4223}" "${RUN_PG_PORT:-5433}"
export DATABASE_URL=${DATABASE_URL:-$(create_database readstream)}
export GATEWAY_ADDR=$gateway_addr
# The gateway has no default signing secret: make one per data folder, kept beside the data it
# signs for (a JWT_SECRET from the environment wins).
if [[ -z ${JWT_SECRET:-} ]]; then
    if [[ ! -s $data/jwt-secret ]]; then
        (umask 077 && head -c 48 /dev/urandom | base64 -w0 > "$data/jwt-secret")
    fi
    JWT_SECRET=$(cat "$data/jwt-secret")
fi
export JWT_SECRET
# The demo's librarian is the first admin, who grants itself the librarian role to add the
# seed book. Name your own admin's handle here to run without the demo.
export READSTREAM_ADMIN=${READSTREAM_ADMIN:-demo_librarian}
# The production limits, but room for the demo's sign-ups from this one address.
export RATE_LIMIT_SIGN_IN_PER_MINUTE=${RATE_LIMIT_SIGN_IN_PER_MINUTE:-300}

declare -A started_at=() restarts=()
# With HEALTH_PORT_BASE set, process number i of `services` answers /healthz, /readyz and
# /metrics on 127.0.0.1:HEALTH_PORT_BASE+i, and the gateway on the port after them (+7).
declare -A health_addr=()
if [[ -n ${HEALTH_PORT_BASE:-} ]]; then
    count=$((${#services[@]} + 1))
    for i in "${!services[@]}"; do
        health_addr[${services[$i]}]=127.0.0.1:$((HEALTH_PORT_BASE + i))
        # In a cluster, the second of each on the seven ports after.
        health_addr[${services[$i]}-2]=127.0.0.1:$((HEALTH_PORT_BASE + count + i))
    done
    health_addr[gateway]=127.0.0.1:$((HEALTH_PORT_BASE + ${#services[@]}))
    health_addr[gateway-2]=127.0.0.1:$((HEALTH_PORT_BASE + count + ${#services[@]}))
fi

# Starts one process, its output appended to its log (and shown here by the log follower).
start_process() {
    local name=$1 settings=()
    [[ -n ${health_addr[$name]:-} ]] && settings+=("HEALTH_ADDR=${health_addr[$name]}")
    [[ $name == gateway-2 ]] && settings+=("GATEWAY_ADDR=${gateways[1]}")
    env -u HEALTH_ADDR "${settings[@]}" "$BIN_DIR/readstream-${name%-2}" >>"$data/logs/$name.log" 2>&1 &
    pid_of[$name]=$!
    started_at[$name]=$SECONDS
}

# The processes write their logs themselves, so a log holds everything its process printed the
# moment it exits (through a pipe to tee, the last lines could still be on their way); one
# follower shows them all here, until this script ends.
mkdir -p "$data/logs"
logs=("$data/logs/seed.log")
: >>"$data/logs/seed.log"
for name in "${processes[@]}"; do
    logs+=("$data/logs/$name.log")
    : >>"$data/logs/$name.log"
done
tail -q -n 0 -F --pid=$$ "${logs[@]}" &
log_follower=$!
for name in "${processes[@]}"; do
    start_process "$name"
done

# Wait until every process is ready, or one exits first.
"$BIN_DIR/readstream-ready" "${gateways[@]/#/--gateway=http://}" --timeout-secs "$ready_timeout" \
    "${services[@]}" >"$data/logs/not-ready" &
ready_pid=$!
while :; do
    status=0
    wait -n -p done_pid "$ready_pid" "${pid_of[@]}" || status=$?
    if [[ $done_pid == "$ready_pid" ]]; then
        ready_pid=""
        ((status == 0)) && break
        mapfile -t not_ready <"$data/logs/not-ready"
        ((${#not_ready[@]})) || exit 1
        for name in "${not_ready[@]}"; do
            [[ -n $name ]] && fail_start "$name" "was not ready within $ready_timeout s"
        done
        exit 1
    fi
    for name in "${processes[@]}"; do
        if [[ ${pid_of[$name]} == "$done_pid" ]]; then
            fail_start "$name" "exited (status $status) before it was ready"
            exit 1
        fi
    done
done

"$BIN_DIR/readstream-seed" --gateway "http://$gateway_addr"
# What the seed page's reviewer cards count (thousands of imported reviews, hundreds of
# followers) goes on in the background; its line shows here when done. DEMO_LIBRARIES=0 skips it.
if [[ ${DEMO_LIBRARIES:-1} != 0 ]]; then
    "$BIN_DIR/readstream-seed" --gateway "http://$gateway_addr" --libraries >>"$data/logs/seed.log" 2>&1 &
    pid_of[seed]=$!
fi
echo
echo "readstream is running: GraphQL (and GraphiQL) at http://$gateway_addr/graphql"
((${#gateways[@]} > 1)) && echo "a second gateway at http://${gateways[1]}/graphql; NATS at $NATS_URL"
echo "subscriptions at ws://$gateway_addr/graphql; logs in $data/logs; Ctrl-C stops everything"

# Supervise: a process that exits (a crash, kill -9) is started again after 1 s, then 2, 4, …
# up to 30 s if it keeps exiting; one that ran for RESTART_RESET_SECS starts that count over.
# Each process is looked at on its own every quarter second, so any number exiting together,
# or while another waits out its delay, are each noticed and started again.
declare -A due=()
while :; do
    now=$((${EPOCHREALTIME//[!0-9]/} / 1000))
    for name in "${processes[@]}"; do
        if [[ -n ${due[$name]:-} ]]; then
            if ((now >= due[$name])); then
                unset "due[$name]"
                start_process "$name"
            fi
            continue
        fi
        kill -0 "${pid_of[$name]}" 2>/dev/null && continue
        status=0
        wait "${pid_of[$name]}" 2>/dev/null || status=$?
        ((SECONDS - started_at[$name] >= ${RESTART_RESET_SECS:-60})) && restarts[$name]=0
        tries=${restarts[$name]:-0}
        delay=$((tries < 5 ? 1 << tries : 30))
        restarts[$name]=$((tries + 1))
        due[$name]=$((now + delay * 1000))
        echo "readstream: $name exited (status $status); starting it again in $delay s" >&2
    done
    # In the background, so Ctrl-C stops everything at once rather than after the wait.
    sleep 0.25 &
    wait $!
done
