#!/usr/bin/env bash
# `make bench`: release builds, then on fresh NATS and Postgres (durable, fsync on, as in
# production):
#   1. the projection replay of 1,000,000 BookRated events beside a per-event baseline;
#   2. the first page of a book's reviews, 10 reviews beside 1,000,000, p50/p99;
#   3. a feed page for viewers following 10, 500 and 5,000 readers, and the rows one rating
#      writes for authors with 10, 10,000 and 1,000,000 followers;
#   4. how fast the gateway's limits refuse (rate, width, complexity) beside a served request;
#   5. a library import: 10,000 rows of books in the catalog (rows/s), and the memory of one of
#      100,000 rows;
#   6. ingest: rating commands/s on new aggregates and on ones with 1 and 1,000 earlier events,
#      beside raw publishes/s, against NATS with sync_interval: always (make run) and with the
#      server's default.
# Arguments go to the replay benchmark (e.g. --events 100000).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
source deploy/local/servers.sh
cargo build --release --locked -p readstream-projector -p readstream-e2e \
    --bin readstream-projector-bench --bin readstream-reviews-bench --bin readstream-feed-bench \
    --bin readstream-limits-bench --bin readstream-ingest-bench --bin readstream-search-bench \
    --bin readstream-import-bench
data=$(mktemp -d /tmp/readstream-bench.XXXXXX)
trap 'stop_servers; deploy/local/stop-nats.sh "$data/nats-default" >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
unset NATS_URL DATABASE_URL
start_servers "$data" "$(deploy/local/free-port.sh)" "$(deploy/local/free-port.sh)"
export DATABASE_URL=$DATABASE_ADMIN_URL
echo "== projection replay"
target/release/readstream-projector-bench "$@"
echo
echo "== reviews page"
target/release/readstream-reviews-bench
echo
echo "== feed"
target/release/readstream-feed-bench
echo
echo "== search"
target/release/readstream-search-bench
echo
echo "== import"
target/release/readstream-import-bench
echo
echo "== limit refusals"
target/release/readstream-limits-bench
echo
echo "== ingest: commands beside raw publishes, fsync on every write and the default"
NATS_URL_DEFAULT_SYNC=$(deploy/local/start-nats.sh "$data/nats-default" "$(deploy/local/free-port.sh)" --throwaway | tail -n 1) \
    target/release/readstream-ingest-bench
