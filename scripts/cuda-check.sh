#!/usr/bin/env bash
# The CUDA checks, from the bundle that scripts/build-cuda.sh packs (.cuda-bundle/bundle.tar.xz:
# the CUDA gpu-service and parity test, the CPU doctown CLI, the model), run on a GPU host beside
# the repository's files, in one device call: run(command: "scripts/cuda-check.sh",
# carry: [".cuda-bundle"]). It needs the NVIDIA driver and CUDA 13's cudart, cuBLAS and cuRAND
# libraries, found in the usual places (a CUDA install, PyTorch's nvidia-* packages).
#  1. parity: candle on CUDA against sentence-transformers' reference vectors (cosine ≥ 0.999) and
#     batch invariance (gpu-service/tests/parity.rs), failing if it did not run on the GPU;
#  2. speed: gpu-service on the GPU under 8 concurrent clients, beside candle (and
#     sentence-transformers, where this host's python3 has it) on this host's CPU.
# `--cpu` runs part 1 on the CPU with the same binaries and model: build-cuda.sh's check of the bundle.
# Everything printed is also written to $OUT/cuda-check.log where OUT is set (the device's).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=gpu
[ "${1:-}" = --cpu ] && MODE=cpu
PORT=18080
[ -n "${OUT:-}" ] && exec > >(tee -a "$OUT/cuda-check.log") 2>&1
WORK=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 - "$ROOT/.cuda-bundle/bundle.tar.xz" "$WORK" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as bundle:  # the "data" filter where this Python has it
    bundle.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
PY

# The folders holding the libraries the CUDA binaries link (the driver's libcuda too, on a GPU
# host; here, build-cuda.sh's stub of it, which the CPU path never calls).
CUDA_HOME=${CUDA_HOME:-$HOME/.cache/doctown/cuda-13.0/nvidia/cu13}
libs=(libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10)
if [ $MODE = gpu ]; then libs+=(libcuda.so.1); else libs+=(stubs/libcuda.so); fi
dirs=()
for lib in "${libs[@]}"; do
  found=$(find "$CUDA_HOME/lib" /usr/local/nvidia /usr/local/cuda/ /usr/lib/x86_64-linux-gnu /opt \
    -path "*/$lib" -print -quit 2>/dev/null || true)
  [ -n "$found" ] || { echo "cuda-check.sh: $lib not found; set CUDA_HOME to a CUDA 13 install" >&2; exit 1; }
  dirs+=("$(dirname "$found")")
done
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(printf '%s\n' "${dirs[@]}" | sort -u | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ $MODE = cpu ]; then  # the stub answers to libcuda.so.1 only through this name
  ln -s "$(printf '%s\n' "${dirs[@]}" | grep stubs | head -1)/libcuda.so" "$WORK/libcuda.so.1"
  LD_LIBRARY_PATH=$WORK:$LD_LIBRARY_PATH
fi
export DOCTOWN_MODEL_DIR=$WORK/model HF_HUB_OFFLINE=1

[ $MODE = gpu ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== parity ($MODE)"
CARGO_MANIFEST_DIR=$ROOT/gpu-service DOCTOWN_DEVICE=$([ $MODE = gpu ] && echo auto || echo cpu) \
  "$WORK/bin/parity" --nocapture --test-threads 1 2>&1 | tee "$WORK/parity.log"
if [ $MODE = gpu ] && ! grep -q "device: Cuda" "$WORK/parity.log"; then
  echo "cuda-check.sh: the parity test did not run on the GPU (see its log above)" >&2
  exit 1
fi
[ $MODE = cpu ] && exit 0

echo "== gpu-service on CUDA, 8 concurrent clients"
"$WORK/bin/gpu-service" --host 127.0.0.1 --port $PORT --max-batch-tokens 65536 --device auto &
pid=$!
health=$(python3 - $PORT <<'PY'
import sys, time, urllib.request
for _ in range(240):
    try:
        print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health").read().decode())
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("gpu-service did not answer /health in 2 minutes")
PY
)
echo "$health"
case $health in *'"cuda"'*) ;; *) echo "cuda-check.sh: gpu-service is not on the GPU" >&2; exit 1 ;; esac
python3 -c "import sentence_transformers" 2>/dev/null && export DOCTOWN_TORCH_PYTHON=python3
"$WORK/bin/doctown" bench embed "$ROOT" --texts 256 --service "http://127.0.0.1:$PORT"
kill -TERM $pid
wait $pid || true
