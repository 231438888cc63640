#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh, idempotent), checks formatting
# and lints, builds the core for wasm32-unknown-unknown, and runs the whole test suite (which
# includes the wasm parity test under node, and the edge Worker's end-to-end tests in workerd).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export INSTA_UPDATE=no CARGO_TERM_COLOR=never

scripts/setup.sh
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "core for wasm32-unknown-unknown"
scripts/build-wasm.sh
step "edge Worker (wasm32, worker-build)"
scripts/build-edge.sh
step "website (Vite)"
scripts/build-web.sh
step "cargo test"
cargo test --workspace --locked
