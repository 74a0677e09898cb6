#!/usr/bin/env bash
# `make bench`: release builds, then on fresh NATS and Postgres (durable, fsync on, as in
# production):
#   1. the projection replay of 1,000,000 BookRated events beside a per-event baseline and the
#      in-Postgres limit, then the projection lag at 5,000 events/s for a minute (both on the
#      default-sync NATS);
#   2. the first page of a book's reviews, 10 reviews beside 1,000,000, p50/p99;
#   3. a feed page for viewers following 10, 500 and 5,000 readers and one 200,000 items deep,
#      a page of followers of a reader with 10 and of one with 300,000 (first, 200,000 deep),
#      and the rows one rating writes for authors with 10, 10,000 and 1,000,000 followers;
#   4. how fast the gateway's limits refuse (rate, width, cost, the fragment bomb) beside a served request;
#   5. a library import: 10,000 rows of books in the catalog (rows/s), and the memory of one of
#      100,000 rows;
#   6. live pushes: 15,000 WebSockets on one gateway, each subscribed to one book, held by a
#      second process (Rust clients, then a Node app's graphql-ws clients), then each its own
#      reader's feed (every reader following 20 accounts above the fan-out limit); memory per
#      idle connection, CPU per socket per push, and p50/p99 from the mutation to every push;
#   7. the book page and the feed page (following 2,000) beside PostGraphile 4.14.1 (single-process
#      and with two cluster workers) and 5.1.5 (two workers) over the same read models, each server its own process,
#      loaded in turns by wrk: req/s, p50/p99, CPU per request and peak memory, and the ratios;
#   8. ingest: rating commands/s on new aggregates beside raw publishes/s, each with 64 and with
#      1,000 awaiting their acknowledgement, and on aggregates with 1 and 1,000 earlier events,
#      against NATS with sync_interval: always (make run), with the server's default, and a
#      three-node cluster (the default sync) whose streams keep three replicas;
#   9. recommendations: recall@10 of "for you" and "readers also enjoyed" over a generated
#      library of 100,000 books and 20,000 readers in taste groups, beside a most-popular
#      baseline and a control with the groups shuffled; each query's p99; the rows one rating
#      writes (tests/bench/recommendations.rs);
#  10. the size of the whole system: the book page and the feed page with 10,000 readers in the
#      system beside 1,000,000, in turns (tests/bench/scale.rs);
#  11. every target in one table: met or not, the target, what, the figure as measured.
# `--quick` (make bench QUICK=1) runs each on a tenth or less of the data, in a few minutes;
# its figures show the shape, not the targets. Other arguments go to the replay benchmark
# (e.g. --events 100000).
set -euo pipefail
replay=() reviews=() search=() import=() live=() peers=() ingest=() recommendations=() scale=()
if [[ ${1:-} == --quick ]]; then
    shift
    replay=(--events 100000 --baseline-events 5000 --lag-seconds 10)
    reviews=(--reviews 100000)
    search=(--books 100000)
    import=(--books 2000 --rows 2000 --memory-rows 20000)
    live=(--clients 2000 --rounds 3)
    peers=(--seconds 5)
    ingest=(--commands 5000 --publishes 50000)
    recommendations=(--books 10000 --readers 2000 --groups 20 --sample 300)
    scale=(--readers 100000 --requests 200)
fi
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh
# The peer comparison's load generator and peer: wrk from Debian, PostGraphile pinned by its
# package-lock.json.
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
npm ci --prefix tests/bench/postgraphile --no-audit --no-fund --silent
# The live pushes' Node clients (graphql-ws over ws), pinned by their package-lock.json.
npm ci --prefix tests/bench/live-clients --no-audit --no-fund --silent
# PostGraphile 5 needs Node 22 or later: a pinned one in .tools/node, with its own npm.
node22=$(deploy/local/install-node.sh | tail -n 1)
PATH="$(dirname "$node22"):$PATH" "$node22" "$(dirname "$node22")/../lib/node_modules/npm/bin/npm-cli.js" \
    ci --prefix tests/bench/postgraphile5 --no-audit --no-fund --silent
cargo build --release --locked -p readstream-e2e -p readstream-gateway \
    --bin readstream-replay-bench --bin readstream-reviews-bench --bin readstream-feed-bench \
    --bin readstream-limits-bench --bin readstream-ingest-bench --bin readstream-search-bench \
    --bin readstream-import-bench --bin readstream-live-bench --bin readstream-peers-bench \
    --bin readstream-notifications-bench --bin readstream-recommendations-bench --bin readstream-scale-bench \
    --bin readstream-gateway
data=$(mktemp -d /tmp/readstream-bench.XXXXXX)
stop_bench_servers() {
    stop_servers
    local nats
    for nats in "$data/nats-default" "$data"/nats-cluster/node-*; do
        deploy/local/stop-nats.sh "$nats" >/dev/null 2>&1 || true
    done
    rm -rf "$data"
}
trap stop_bench_servers EXIT
# Each program adds a row here for every target it measures (readstream_e2e::bench::target):
# what, as measured (with its CPU and memory), the target, met or not. Printed at the end.
export BENCH_TARGETS=$data/targets.tsv
unset NATS_URL DATABASE_URL
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)"
export DATABASE_URL=$DATABASE_ADMIN_URL
# A second NATS with the server's default sync: the ingest bench's comparison, and the replay's
# and the projection lag's streams (its appends keep up with the lag's rate, so the lag is the
# projector's, and the replay's million events are written in seconds, not minutes).
NATS_URL_DEFAULT_SYNC=$(deploy/local/start-nats.sh "$data/nats-default" "$(deploy/local/free-port.sh)" --throwaway | tail -n 1)
export NATS_URL_DEFAULT_SYNC
# The NATS servers' processes, whose CPU the replay and ingest benches count.
NATS_PID=$(cat "$data/nats/nats.pid") NATS_PID_DEFAULT_SYNC=$(cat "$data/nats-default/nats.pid")
export NATS_PID NATS_PID_DEFAULT_SYNC
echo "== projection replay"
target/release/readstream-replay-bench "${replay[@]}" "$@"
echo
echo "== reviews page"
target/release/readstream-reviews-bench "${reviews[@]}"
echo
echo "== feed"
target/release/readstream-feed-bench
echo
echo "== search"
target/release/readstream-search-bench "${search[@]}"
echo
echo "== import"
target/release/readstream-import-bench "${import[@]}"
echo
echo "== notifications"
target/release/readstream-notifications-bench
echo
echo "== recommendations"
NATS_URL=$NATS_URL_DEFAULT_SYNC target/release/readstream-recommendations-bench "${recommendations[@]}"
echo
echo "== limit refusals"
target/release/readstream-limits-bench
echo
echo "== live pushes"
target/release/readstream-live-bench "${live[@]}"
target/release/readstream-live-bench --node "${live[@]}"
target/release/readstream-live-bench --reviews "${live[@]}"
target/release/readstream-live-bench --feed "${live[@]}"
echo
echo "== the size of the whole system"
target/release/readstream-scale-bench "${scale[@]}"
echo
echo "== beside PostGraphile"
target/release/readstream-peers-bench "${peers[@]}"
echo
echo "== ingest: commands beside raw publishes, fsync on every write, the default, and three nodes"
# The cluster only now: three more servers would take their share of the machine before.
cluster_port=$(deploy/local/free-port.sh)
until ! (exec 3<>"/dev/tcp/127.0.0.1/$((cluster_port + 1))") 2>/dev/null &&
    ! (exec 3<>"/dev/tcp/127.0.0.1/$((cluster_port + 2))") 2>/dev/null; do
    cluster_port=$(deploy/local/free-port.sh)
done
NATS_URL_CLUSTER=$(deploy/local/start-nats-cluster.sh "$data/nats-cluster" \
    "$cluster_port" "$((cluster_port + 1))" "$((cluster_port + 2))" --throwaway | tail -n 1)
NATS_PIDS_CLUSTER=$(cat "$data"/nats-cluster/node-*/nats.pid | paste -sd,)
export NATS_URL_CLUSTER NATS_PIDS_CLUSTER
target/release/readstream-ingest-bench "${ingest[@]}"
echo
echo "== every target, as this run measured it"
awk -F '\t' '
    NR == FNR { for (i = 1; i <= 3; i++) if (length($i) > w[i]) w[i] = length($i); next }
    { printf "%-8s %-*s  %-*s  %s\n", $4, w[1], $1, w[3], $3, $2 }
' "$BENCH_TARGETS" "$BENCH_TARGETS"
