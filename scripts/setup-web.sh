#!/usr/bin/env bash
# Installs the website's npm packages into web/node_modules, idempotently (called by
# scripts/setup.sh, which also installs Debian's Chromium for the browser tests): Vite, TypeScript,
# cytoscape.js, graphology, fzstd and playwright-core, pinned by web/package-lock.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '==> %s\n' "$*" >&2; }

WEB="$ROOT/web"
STAMP="$WEB/node_modules/.lock-sha256"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$(sha256sum < "$WEB/package-lock.json")" ]; then
  log "npm ci in web (vite, typescript, cytoscape, graphology, fzstd, playwright-core)"
  npm ci --prefix "$WEB" --no-audit --no-fund >/dev/null
  sha256sum < "$WEB/package-lock.json" > "$STAMP"
fi

