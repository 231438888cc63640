#!/usr/bin/env bash
# Builds gpu-service with CUDA (`--features cuda`) on a machine without a GPU or a CUDA install:
# the toolkit comes from PyPI's CUDA 13.0 wheels, unpacked into one prefix used as CUDA_HOME,
# and the driver library, which no wheel ships, is linked against a stub generated from the
# `cu*` names of cuda.h (the real driver is loaded on the GPU host). Not part of the default
# build or CI: it takes tens of minutes on two cores.
#   CUDA_COMPUTE_CAP  the GPU generation to build kernels for (default 90: H100/H200)
# Output: $CARGO_TARGET_DIR/release/gpu-service (CUDA) and the parity test binary, listed at the end.
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
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/doctown-target}/cuda
cd "$ROOT"
echo "==> cargo build --release -p doctown-gpu-service --features cuda (compute cap $CUDA_COMPUTE_CAP; slow)" >&2
cargo build --release --locked -p doctown-gpu-service --features cuda
cargo test --release --locked -p doctown-gpu-service --features cuda --test parity --no-run 2>&1 \
  | grep -oE '\(([^)]*parity-[0-9a-f]+)\)' | tr -d '()' > "$CARGO_TARGET_DIR/parity-binary.txt"
echo "built: $CARGO_TARGET_DIR/release/gpu-service"
echo "parity test: $(cat "$CARGO_TARGET_DIR/parity-binary.txt")"
echo "needs at run time: the NVIDIA driver (libcuda.so.1) and $CUDA_HOME/lib on LD_LIBRARY_PATH"
