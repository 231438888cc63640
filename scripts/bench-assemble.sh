#!/usr/bin/env bash
# Assembly benchmark: assembly time at 1k, 10k and 50k symbols, PageRank beside petgraph's at
# 4k nodes, clustering beside the plain hdbscan call; appends to bench/results/assemble.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -q -p doctown-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/doctown"
OUT=bench/results/assemble.txt
{
  echo "# doctown bench assemble — $(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  "$BIN" bench assemble "$@"
  echo
} | tee -a "$OUT"
