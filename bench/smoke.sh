#!/usr/bin/env bash
# The smoke benchmark CI runs (seconds, not minutes): matmul and conv2d at 64 and 128 on the CPU
# backends, js only where it is quick, repeated REPEAT times (default 3: bench:compare compares
# the fastest of the repeats, which load on a shared machine disturbs least). Each repeat is one run
# appended to HISTORY (default: the committed bench/history/smoke.jsonl, which records runs of
# this exact command). Usage: bench/smoke.sh [HISTORY] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
history="${1:-bench/history/smoke.jsonl}"
for _ in $(seq "${2:-3}"); do
  node bin/efficientai-toolkit.js bench:ops --backends js,wasm,native --ops matmul,conv2d --sizes 64,128 \
    --runs 21 --warmup 3 --js-max-gflop 0.005 --history "$history" --log-level error >/dev/null
done
