#!/usr/bin/env bash
# Builds the core for wasm32-unknown-unknown (through the wasm harness, which links it with the
# real tree-sitter grammars) with Debian's rustc-web; prints the path of the .wasm.
# Needs scripts/setup.sh to have run once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
STAMP="$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/sysroot-stamp"
[ "$(cat "$STAMP" 2>/dev/null || true)" = "$(/usr/bin/rustc -vV | sha256sum | cut -c1-32)" ] || {
  echo "the wasm32 std is missing or was built for another rustc-web: run scripts/setup.sh" >&2; exit 1; }
# The grammars' C code needs libc headers; tree-sitter-language ships the few it uses for wasm.
TS_LANGUAGE_DIR=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "tree-sitter-language"))')
export CFLAGS_wasm32_unknown_unknown="-idirafter $TS_LANGUAGE_DIR/wasm/include"
export CC_wasm32_unknown_unknown=clang-22 AR_wasm32_unknown_unknown=llvm-ar-22
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
# Debian's compiler gets its own target dir: its artifacts do not mix with rustup's.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debian-web"
RUSTUP_TOOLCHAIN=debian-web RUSTC=/usr/bin/rustc /usr/bin/cargo build --locked -q --release \
  --target wasm32-unknown-unknown -p doctown-wasm-harness --target-dir "$TARGET_DIR" >&2
echo "$TARGET_DIR/wasm32-unknown-unknown/release/doctown_wasm_harness.wasm"
