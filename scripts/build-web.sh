#!/usr/bin/env bash
# Type-checks the website (tsc) and builds it into web/dist (Vite), which the Worker serves and
# `doctown view` serves.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/web"
node_modules/.bin/tsc -p .
node_modules/.bin/vite build --logLevel warn
