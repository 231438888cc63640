#!/usr/bin/env bash
# The graph view's frame time in the browser at about 5,000 nodes: documents a corpus of
# Python's standard library already on this machine (the deterministic test embedder: vectors
# do not matter here), serves it with `doctown view`, and has Chromium zoom and pan the call
# graph while it times each frame. Prints the figures and appends them to bench/results/web.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${CORPUS:-${TMPDIR:-/tmp}/doctown-web-corpus}
STDLIB=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['stdlib'])")

rm -rf "$CORPUS" && mkdir -p "$CORPUS"
for pkg in email asyncio json http logging concurrent urllib importlib xml multiprocessing; do
  [ -d "$STDLIB/$pkg" ] && cp -r "$STDLIB/$pkg" "$CORPUS/"
done

scripts/build-web.sh
cargo build --release -q -p doctown-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/doctown"
"$BIN" generate "$CORPUS" --embedder test -o "$CORPUS.docpack" >/dev/null 2>&1
"$BIN" view "$CORPUS.docpack" --port 0 > "$CORPUS.view" &
VIEW=$!
trap 'kill $VIEW 2>/dev/null || true' EXIT
until grep -q http "$CORPUS.view" 2>/dev/null; do sleep 0.2; done
URL=$(grep -o 'http://[^ ]*' "$CORPUS.view")
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), headless Chromium, cytoscape.js on a canvas"
  node web/tests/browser.mjs bench "$URL" "$ROOT/web/screenshots/bench"
  echo
} | tee -a bench/results/web.txt
