#!/usr/bin/env bash
# The load benchmark: JOBS jobs at once (16) on the local edge stack with gpu-service on the
# CPU, twice: with gpu-service's default queue, and with a queue of 3,000 tokens, which it must
# defend by shedding requests with 503 + Retry-After (the jobs retry, then go on partial).
# Prints jobs/minute, p50/p95 job time, events that crossed jobs (must be 0) and the queue's
# depth; appends them to bench/results/load.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-16}
SOURCE=${SOURCE:-tests/fixtures/python}

scripts/build-edge.sh >/dev/null
scripts/build-web.sh
cargo build --release -q -p doctown-cli -p doctown-gpu-service
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
serve() { # PORT [ENV=VALUE]
  env "${@:2}" "$BIN/gpu-service" --host 127.0.0.1 --port "$1" --device cpu >/dev/null 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$1/health" >/dev/null; do sleep 0.5; done
}
serve 8797
serve 8796 DOCTOWN_MAX_QUEUE_TOKENS=3000
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# gpu-service with its default queue"
  "$BIN/doctown" bench load "$SOURCE" --jobs "$JOBS" --gpu http://127.0.0.1:8797
  echo "# gpu-service with a queue of 3,000 tokens"
  "$BIN/doctown" bench load "$SOURCE" --jobs "$JOBS" --gpu http://127.0.0.1:8796
  echo
} | tee -a bench/results/load.txt
