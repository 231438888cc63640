#!/usr/bin/env bash
# Builds the edge Worker (edge/ → edge/build/index.js + wasm) with worker-build and Debian's
# rustc-web, offline: wasm-bindgen and esbuild come from scripts/setup-edge.sh, wasm-opt is off.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/edge/node_modules/.bin:$HOME/.cargo/bin:$PATH"
. scripts/wasm-env.sh
command -v worker-build >/dev/null && [ -x edge/node_modules/.bin/esbuild ] || {
  echo "worker-build or esbuild is missing: run scripts/setup-edge.sh" >&2; exit 1; }
export RUSTUP_TOOLCHAIN=debian-web RUSTC=/usr/bin/rustc
export WASM_BINDGEN_BIN=wasm-bindgen ESBUILD_BIN="$ROOT/edge/node_modules/.bin/esbuild"
# Its own target dir: Debian's compiler, and a release profile without debug info (the bundle
# stays small) that must not rebuild the wasm harness's dependencies every time.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/edge-wasm"
export CARGO_PROFILE_RELEASE_DEBUG=false
cd edge
worker-build --release >&2
ls -l build/index.js build/*.wasm >&2 2>/dev/null || ls -lR build >&2
