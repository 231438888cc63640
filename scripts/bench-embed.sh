#!/usr/bin/env bash
# The embedding benchmark: candle beside sentence-transformers (PyTorch on the CPU) on the same
# texts and threads, then gpu-service under 8 concurrent clients, with peak memory; appends the
# figures to bench/results/embed.txt. Makes the reference's Python environment the first time
# (torch and sentence-transformers from PyPI, a few GB) in ~/.cache/doctown/torch-venv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${DOCTOWN_TORCH_VENV:-$HOME/.cache/doctown/torch-venv}
if ! "$VENV/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.15.0 sentence-transformers==6.2.0
fi
scripts/fetch-model.sh
cargo build --release -q -p doctown-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/doctown"
OUT=bench/results/embed.txt
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  DOCTOWN_TORCH_PYTHON="$VENV/bin/python" "$BIN" bench embed "$ROOT" "$@" 2> >(grep -v 'Loading weights' >&2)
  echo
} | tee -a "$OUT"
