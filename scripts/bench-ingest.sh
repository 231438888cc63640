#!/usr/bin/env bash
# The ingest benchmark: full ingest MB/s beside a bare tree-sitter parse of the same files, in
# one run, on a corpus of real code already on this machine (nothing is downloaded):
#   rust        crates from the cargo registry (tokio, hyper, regex, clap_builder, serde, …)
#   python      packages of Python's standard library (email, asyncio, json, http, logging, …)
#   javascript  npm's own sources
# Prints each corpus's figures and appends them to bench/results/ingest.txt with the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${CORPUS:-${TMPDIR:-/tmp}/doctown-bench-corpus}
ROUNDS=${ROUNDS:-5}

REGISTRY=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ 2>/dev/null | head -1 || true)
STDLIB=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['stdlib'])")
NPM=$(npm root -g 2>/dev/null)/npm

rm -rf "$CORPUS" && mkdir -p "$CORPUS"/{rust,python,javascript}
for crate in tokio hyper regex clap_builder serde reqwest axum zip tar; do
  src=$(ls -d "$REGISTRY"/$crate-[0-9]* 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$src" ] && cp -r "$src" "$CORPUS/rust/"
done
for pkg in email asyncio json http logging concurrent urllib importlib; do
  [ -d "$STDLIB/$pkg" ] && cp -r "$STDLIB/$pkg" "$CORPUS/python/"
done
[ -d "$NPM/lib" ] && cp -r "$NPM/lib" "$CORPUS/javascript/npm-lib"

cargo build --release -q -p doctown-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/doctown"
OUT=bench/results/ingest.txt
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  for lang in rust python javascript; do
    [ -n "$(ls -A "$CORPUS/$lang")" ] && "$BIN" bench ingest "$CORPUS/$lang" --rounds "$ROUNDS"
  done
  echo
} | tee -a "$OUT"
