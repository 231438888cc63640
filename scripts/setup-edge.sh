#!/usr/bin/env bash
# Installs what the edge Worker's build and local runtime need, idempotently (called by
# scripts/setup.sh): worker-build and wasm-bindgen-cli at the versions edge/Cargo.toml pins
# (cargo install from crates.io, several minutes each the first time), and wrangler (workerd),
# esbuild and Node 22 from npm into edge/node_modules (pinned by edge/package-lock.json).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '==> %s\n' "$*" >&2; }

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
grep -q "wasm-bindgen = \"=$WASM_BINDGEN_VERSION\"" "$ROOT/edge/Cargo.toml" || {
  echo "setup-edge.sh: edge/Cargo.toml pins another wasm-bindgen than $WASM_BINDGEN_VERSION" >&2; exit 1; }

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (several minutes)"
  # Not --locked: its lock file pins a crate version the registry no longer serves.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_BUILD_VERSION" ]; then
  log "cargo install worker-build $WORKER_BUILD_VERSION (several minutes)"
  cargo install -q --locked worker-build --version "$WORKER_BUILD_VERSION"
fi

EDGE="$ROOT/edge"
STAMP="$EDGE/node_modules/.lock-sha256"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$(sha256sum < "$EDGE/package-lock.json")" ]; then
  log "npm ci in edge (wrangler, esbuild, node 22)"
  npm ci --prefix "$EDGE" --no-audit --no-fund >/dev/null
  sha256sum < "$EDGE/package-lock.json" > "$STAMP"
fi
