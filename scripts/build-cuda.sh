#!/usr/bin/env bash
# Builds gpu-service with CUDA (`--features cuda`) on a machine without a GPU or a CUDA install:
# the toolkit comes from PyPI's CUDA 13.0 wheels, unpacked into one prefix used as CUDA_HOME,
# and the driver library, which no wheel ships, is linked against a stub generated from the
# `cu*` names of cuda.h (the real driver is loaded on the GPU host). Not part of the default
# build or CI: it takes tens of minutes on two cores.
#   CUDA_COMPUTE_CAP  the GPU generation to build kernels for (default 90: H100/H200)
# Output: $CARGO_TARGET_DIR/cuda/release/gpu-service (CUDA), the parity test binary, and
# .cuda-bundle/bundle.tar.xz: what scripts/cuda-check.sh runs on a GPU host, in one device call.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${CUDA_PREFIX:-$HOME/.cache/doctown/cuda-13.0}
CUDA_HOME="$PREFIX/nvidia/cu13"
# 13.0.x: the GPU hosts seen here run driver 580 (CUDA 13.0), which cannot load newer PTX.
WHEELS=("nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-crt==13.0.*"
        "nvidia-nvvm==13.0.*" "nvidia-cuda-cccl==13.0.*" "nvidia-cublas==13.0.*"
        "nvidia-cuda-nvrtc==13.0.*" "nvidia-curand==10.4.*")
if [ ! -x "$CUDA_HOME/bin/nvcc" ]; then
  echo "==> CUDA 13.0 toolkit from PyPI into $PREFIX (~700 MB)" >&2
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary :all: -d "$tmp" "${WHEELS[@]}"
  mkdir -p "$PREFIX"
  for w in "$tmp"/*.whl; do python3 -m zipfile -e "$w" "$PREFIX"; done
  rm -rf "$tmp"
  chmod +x "$CUDA_HOME"/bin/* "$CUDA_HOME"/nvvm/bin/* 2>/dev/null || true
fi
# Unversioned names for the linker, lib64 for tools that look there.
for so in "$CUDA_HOME"/lib/lib*.so.*; do
  base="${so%%.so.*}.so"; [ -e "$base" ] || ln -s "$(basename "$so")" "$base"
done
[ -e "$CUDA_HOME/lib64" ] || ln -s lib "$CUDA_HOME/lib64"
if [ ! -e "$CUDA_HOME/lib/stubs/libcuda.so" ]; then
  echo "==> stub libcuda.so from cuda.h" >&2
  mkdir -p "$CUDA_HOME/lib/stubs"
  grep -oE '\bcu[A-Z][A-Za-z0-9_]*\b' "$CUDA_HOME/include/cuda.h" | sort -u \
    | sed 's/.*/int &(void) { return 999; }/' > "$CUDA_HOME/lib/stubs/cuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CUDA_HOME/lib/stubs/libcuda.so" "$CUDA_HOME/lib/stubs/cuda_stub.c"
fi
export CUDA_HOME CUDA_PATH="$CUDA_HOME" CUDA_ROOT="$CUDA_HOME" PATH="$CUDA_HOME/bin:$PATH"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export LIBRARY_PATH="$CUDA_HOME/lib:$CUDA_HOME/lib/stubs:${LIBRARY_PATH:-}"
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/doctown-target}
export CARGO_TARGET_DIR=$TARGET/cuda
cd "$ROOT"
echo "==> cargo build --release -p doctown-gpu-service --features cuda (compute cap $CUDA_COMPUTE_CAP; slow)" >&2
cargo build --release --locked -p doctown-gpu-service --features cuda
cargo test --release --locked -p doctown-gpu-service --features cuda --test parity --no-run 2>&1 \
  | grep -oE '\(([^)]*parity-[0-9a-f]+)\)' | tr -d '()' > "$CARGO_TARGET_DIR/parity-binary.txt"
echo "built: $CARGO_TARGET_DIR/release/gpu-service"
echo "parity test: $(cat "$CARGO_TARGET_DIR/parity-binary.txt")"
echo "needs at run time: the NVIDIA driver (libcuda.so.1) and $CUDA_HOME/lib on LD_LIBRARY_PATH"

# The bundle for a GPU host. A device call carries at most 64 MiB, the working tree included, so
# the binaries travel stripped and xz-packed together (the two CUDA ones share most of their bytes)
# and the model with the token rows that no parity text uses set to zero (scripts/cuda_bundle_model.py).
CARRY_LIMIT=$((64 * 1024 * 1024))
BUNDLE="$ROOT/.cuda-bundle"
echo "==> $BUNDLE/bundle.tar.xz" >&2
CARGO_TARGET_DIR=$TARGET cargo build --release --locked -p doctown-cli
scripts/fetch-model.sh
MODEL_CACHE="${HF_HOME:-$HOME/.cache/huggingface}/hub/models--sentence-transformers--all-MiniLM-L6-v2"
MODEL_DIR=${DOCTOWN_MODEL_DIR:-$MODEL_CACHE/snapshots/$(cat "$MODEL_CACHE/refs/main")}
PY=$HOME/.cache/doctown/torch-venv/bin/python  # scripts/bench-embed.sh's, where it is made
if ! "$PY" -c "import numpy, safetensors, tokenizers" 2>/dev/null; then
  PY=$HOME/.cache/doctown/bundle-venv/bin/python
  [ -x "$PY" ] || python3 -m venv "$(dirname "$(dirname "$PY")")"
  "$PY" -m pip install -q numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$BUNDLE"
strip -o "$stage/bin/gpu-service" "$CARGO_TARGET_DIR/release/gpu-service"
strip -o "$stage/bin/parity" "$(cat "$CARGO_TARGET_DIR/parity-binary.txt")"
strip -o "$stage/bin/doctown" "$TARGET/release/doctown"
"$PY" scripts/cuda_bundle_model.py "$MODEL_DIR" gpu-service/tests/data/reference.json "$stage/model"
tar -C "$stage" -cf - bin model | xz -9e -T2 > "$BUNDLE/bundle.tar.xz"
bundle=$(stat -c %s "$BUNDLE/bundle.tar.xz")
tree=$(git ls-files -z --cached --others --exclude-standard | { xargs -0 stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')
echo "bundle: $((bundle / 1000000)) MB; with the working tree $(((bundle + tree) / 1000000)) MB of the $((CARRY_LIMIT / 1000000)) MB a device call carries"
if [ $((bundle + tree)) -gt $CARRY_LIMIT ]; then
  echo "build-cuda.sh: the bundle and the working tree are over what one device call carries" >&2
  exit 1
fi
echo "==> the bundle on this CPU (its parity test, with the bundled model)" >&2
scripts/cuda-check.sh --cpu
echo "on a GPU host, in one device call: run(command: \"scripts/cuda-check.sh\", carry: [\".cuda-bundle\"])"
