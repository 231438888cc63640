#!/usr/bin/env bash
# The CUDA checks, in one run on a machine with an NVIDIA GPU, after scripts/build-cuda.sh:
#  1. parity: candle on CUDA against the sentence-transformers reference vectors (cosine ≥ 0.999)
#     and batch invariance (tests/parity.rs, on the GPU);
#  2. speed: gpu-service on the GPU under 8 concurrent clients, beside candle on this CPU.
# Needs the model in the Hugging Face cache (scripts/fetch-model.sh) or DOCTOWN_MODEL_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CUDA_HOME=${CUDA_HOME:-$HOME/.cache/doctown/cuda-13.0/nvidia/cu13}
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/doctown-target}
export LD_LIBRARY_PATH="$CUDA_HOME/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== parity on CUDA"
DOCTOWN_DEVICE=auto "$(cat "$TARGET/cuda/parity-binary.txt")" --nocapture --test-threads 1
echo "== gpu-service on CUDA, 8 concurrent clients"
"$TARGET/cuda/release/gpu-service" --host 127.0.0.1 --port 18080 --max-batch-tokens 65536 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -fs http://127.0.0.1:18080/health >/dev/null 2>&1 && break; sleep 1; done
curl -fs http://127.0.0.1:18080/health; echo
"$TARGET/release/doctown" bench embed "$ROOT" --texts 256 --service http://127.0.0.1:18080
kill -TERM $pid; wait $pid || true
