#!/usr/bin/env bash
# Builds the core for wasm32-unknown-unknown (through the wasm harness, which links it with the
# real tree-sitter grammars) with Debian's rustc-web; prints the path of the .wasm.
# Needs scripts/setup.sh to have run once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
. scripts/wasm-env.sh
# Debian's compiler gets its own target dir: its artifacts do not mix with rustup's.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debian-web"
RUSTUP_TOOLCHAIN=debian-web RUSTC=/usr/bin/rustc /usr/bin/cargo build --locked -q --release \
  --target wasm32-unknown-unknown -p doctown-wasm-harness --target-dir "$TARGET_DIR" >&2
echo "$TARGET_DIR/wasm32-unknown-unknown/release/doctown_wasm_harness.wasm"
