#!/usr/bin/env bash
# Start a three-node JetStream cluster on loopback (NATS_NODES=3 make run, and the cluster
# tests): node i keeps its data under <data_dir>/node-i, takes clients on the i-th <port> and
# routes on a port chosen once and kept in <data_dir>/node-i/cluster.port (the same on a
# restart, so the nodes find each other again); its monitoring endpoints (/jsz names the
# JetStream meta leader) listen on a port kept in <data_dir>/node-i/http.port.
# Usage: deploy/local/start-nats-cluster.sh <data_dir> <port1> <port2> <port3> [--throwaway]
# --throwaway as for start-nats.sh. Returns once every node takes clients; JetStream elects its
# leaders a few seconds later (the services wait for them). Prints the three client URLs,
# comma-separated (a NATS_URL every service accepts), as the last line.
set -euo pipefail

die() { echo "start-nats-cluster: error: $*" >&2; exit 1; }
[[ ($# -eq 4 || ($# -eq 5 && $5 == --throwaway)) && -n $1 ]] ||
    { echo "usage: $0 <data_dir> <port1> <port2> <port3> [--throwaway]" >&2; exit 2; }
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
data_dir=$(realpath -m -- "$1")
ports=("$2" "$3" "$4")
mode=${5:-}

cluster_ports=()
for i in 1 2 3; do
    node="$data_dir/node-$i"
    mkdir -p "$node"
    [[ -s $node/cluster.port ]] || "$script_dir/free-port.sh" >"$node/cluster.port"
    [[ -s $node/http.port ]] || "$script_dir/free-port.sh" >"$node/http.port"
    cluster_ports+=("$(cat "$node/cluster.port")")
done
urls=()
for i in 1 2 3; do
    routes=()
    for j in 1 2 3; do
        ((j == i)) || routes+=("nats-route://127.0.0.1:${cluster_ports[j - 1]}")
    done
    urls+=("$(NATS_SERVER_NAME="node-$i" NATS_CLUSTER_PORT=${cluster_ports[i - 1]} \
        NATS_HTTP_PORT=$(cat "$data_dir/node-$i/http.port") \
        NATS_ROUTES=$(IFS=,; echo "${routes[*]}") \
        "$script_dir/start-nats.sh" "$data_dir/node-$i" "${ports[i - 1]}" $mode | tail -n 1)")
done
(IFS=,; echo "${urls[*]}")
