#!/usr/bin/env bash
# Fuzzes Doctown's readers of untrusted bytes (the archive reader, the ingest of each language,
# the docpack reader) with cargo fuzz and libFuzzer under AddressSanitizer, SECONDS (60) per
# target, starting from seeds made from the fixtures and from the corpus earlier runs grew.
# Not part of CI: a benchmark-style run. Prints runs, runs/s, coverage and the outcome per
# target and appends them to bench/results/fuzz.txt. An input that fails is copied to
# fuzz/regressions/TARGET/, which `cargo test -p doctown-fuzz` replays once it is fixed.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(archive docpack docpack_parts ingest_rust ingest_python
  ingest_go ingest_javascript ingest_typescript ingest_tsx)
# Limits for one input: a hang or a blow-up is a finding, not something to wait out.
RSS_LIMIT_MB=2048   # the CLI's hostile-input bound is 768 MB; ASan's shadow needs headroom
INPUT_TIMEOUT_S=10  # a few ms is normal; ten seconds on one input is a hang
CACHE=${DOCTOWN_FUZZ_CACHE:-$HOME/.cache/doctown-fuzz}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cargo run -q --release -p doctown-fuzz --bin fuzz-seeds -- tests/fixtures "$CACHE/seeds"
# cargo fuzz needs nightly flags (sanitizers, sancov); stable compilers accept them with
# RUSTC_BOOTSTRAP. Its builds go to a target folder of their own: their flags differ.
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$CACHE/target"
cargo fuzz build --features libfuzzer

report=$(mktemp)
trap 'rm -f "$report"' EXIT
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, ${SECONDS_PER_TARGET} s per target, AddressSanitizer"
  printf '  %-18s %10s %9s %9s %9s  %s\n' target runs runs/s coverage corpus outcome
} | tee "$report"
failed=0
for target in "${TARGETS[@]}"; do
  corpus="$CACHE/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  log="$CACHE/$target.log"
  set +e
  cargo fuzz run --features libfuzzer "$target" \
    "$corpus" "$CACHE/seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" \
    -timeout="$INPUT_TIMEOUT_S" -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  units=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    outcome="no failure"
  else
    found=$(ls -t "fuzz/artifacts/$target"/* 2>/dev/null | head -1 || true)
    outcome="FAILED (exit $status): $(grep -m1 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | cut -c1-120)"
    if [ -n "$found" ]; then
      mkdir -p "fuzz/regressions/$target"
      cp "$found" "fuzz/regressions/$target/"
      outcome="$outcome; input kept as fuzz/regressions/$target/$(basename "$found")"
    fi
    failed=1
  fi
  printf '  %-18s %10s %9s %9s %9s  %s\n' "$target" "$runs" "$rate" "$cov" "$units" "$outcome" | tee -a "$report"
done
echo | tee -a "$report"
cat "$report" >>bench/results/fuzz.txt
[ "$failed" -eq 0 ] || echo "a target failed: its log is in $CACHE/TARGET.log, its input in fuzz/regressions/" >&2
exit "$failed"
