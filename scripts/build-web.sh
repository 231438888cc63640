#!/usr/bin/env bash
# Builds the website into web/dist (Vite), which the Worker serves and `doctown view` serves.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/web"
node_modules/.bin/vite build --logLevel warn
