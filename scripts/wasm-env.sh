# Sourced by build-wasm.sh and build-edge.sh (from the checkout's root): checks that the wasm32
# std setup.sh builds is there for this rustc-web, and exports what cargo needs to build the
# core and its C grammars for wasm32-unknown-unknown with Debian's rustc-web.
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
