#!/usr/bin/env bash
# The smoke benchmark CI runs (seconds, not minutes): small matmul, conv2d and add cases on the CPU
# backends, js only where it is quick. Appends the run to HISTORY (default: the committed
# bench/history/smoke.jsonl, which records runs of this exact command). Usage: bench/smoke.sh [HISTORY]
set -euo pipefail
cd "$(dirname "$0")/.."
history="${1:-bench/history/smoke.jsonl}"
node bin/efficientai-toolkit.js bench:ops --backends js,wasm,native --ops matmul,conv2d,add --sizes 64,128 \
  --runs 15 --warmup 3 --js-max-gflop 0.005 --history "$history" --log-level error >/dev/null
