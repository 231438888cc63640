#!/usr/bin/env bash
# Starts Doctown's edge stack on this machine, offline and without a Cloudflare login: builds the
# Worker, applies the D1 migrations, starts gpu-service on the CPU and `wrangler dev` (workerd,
# with its Durable Objects, R2 and D1 kept in $STATE), and prints the URL. Ctrl-C stops both.
#   PORT (8787)  GPU_PORT (8788)  STATE (.wrangler/state)  GITHUB_API_URL (https://api.github.com)
#   LLM_BASE_URL, LLM_MODEL, LLM_API_KEY: a chat model to write the texts (else the template)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${PORT:-8787}
GPU_PORT=${GPU_PORT:-8788}
STATE=${STATE:-$ROOT/.wrangler/state}
GITHUB_API_URL=${GITHUB_API_URL:-https://api.github.com}
export PATH="$ROOT/edge/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

scripts/setup.sh
scripts/build-edge.sh
scripts/build-web.sh
cargo build --release --locked -q -p doctown-gpu-service
GPU_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gpu-service"

mkdir -p "$STATE"
# Signed links need a key; one is made for this state folder and kept with it.
[ -s "$STATE/signing-key" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/signing-key"
wrangler d1 migrations apply DB --local --persist-to "$STATE" < /dev/null >/dev/null

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$GPU_BIN" --host 127.0.0.1 --port "$GPU_PORT" --device cpu &
pids+=($!)
until curl -sf "http://127.0.0.1:$GPU_PORT/health" >/dev/null; do sleep 0.5; done

llm=()
for name in LLM_BASE_URL LLM_MODEL LLM_API_KEY; do
  [ -z "${!name:-}" ] || llm+=(--var "$name:${!name}")
done
wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE" --show-interactive-dev-session=false \
  --var "GPU_SERVICE_URL:http://127.0.0.1:$GPU_PORT" --var "GITHUB_API_URL:$GITHUB_API_URL" \
  --var "SIGNING_KEY:$(cat "$STATE/signing-key")" "${llm[@]}" &
pids+=($!)
until curl -s "http://127.0.0.1:$PORT/api/health" >/dev/null; do sleep 0.5; done
cat <<MSG

Doctown edge running at http://127.0.0.1:$PORT (the website; gpu-service on http://127.0.0.1:$GPU_PORT)
  curl -X POST http://127.0.0.1:$PORT/api/jobs -d '{"repo": "https://github.com/OWNER/REPO"}'
Ctrl-C stops it; state stays in $STATE.
MSG
wait
