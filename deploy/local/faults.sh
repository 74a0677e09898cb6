#!/usr/bin/env bash
# `make faults`: `make run` on a data folder and ports of its own, under mixed mutations from many
# clients, while every process is killed with SIGKILL in turn and NATS and Postgres are crashed
# and started again; then every acknowledged mutation is checked against the stream and the read
# models (tests/faults/main.rs says what is checked). Installs NATS and Postgres if missing.
# Arguments go to readstream-faults: --cycles N (20; `make test` runs 3), --clients N (16),
# --seed N.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
export SQLX_OFFLINE=${SQLX_OFFLINE:-true}
cargo build --locked --bins
exec target/debug/readstream-faults "$@"
