#!/usr/bin/env bash
# The real-GPU WebGPU run, self-contained, for a lent NVIDIA machine that has no Node.js and no
# network (see bench/gpu/make-bundle.sh, which builds what it needs here, and
# /work/.library/device/README.md). From the repository root there, with .gpu/ and .gl/ carried:
#
#   bash bench/gpu/device-run.sh              (writes into $OUT, else bench/out/gpu)
#
# In order, each step under its own `timeout`, all output teed to $OUT/log.txt:
#   0. unpack .gpu/bundle.tar.xz (node, dist/, pruned node_modules, mosaic.onnx) into $EAI_GPU_WORK;
#      the Vulkan loader from .gl/*.deb when the system has none; VK_DRIVER_FILES/VK_ICD_FILENAMES
#      at the NVIDIA ICD; nvidia-smi, the ICD library's ldd, and the adapter the toolkit's probe sees;
#      refuses a CPU-emulated adapter unless EAI_BENCH_ALLOW_EMULATED=1;
#   1. bench/gpu/check.mjs: matmul/conv2d on webgpu against js element by element, with the
#      adapter's default kernel family and with the other one (tiled, blocked);
#   2. bench:ops --backends webgpu,js --ops matmul,conv2d --sizes 256,512,1024 (js: same-run baseline)
#      --write-results --results-section webgpu-ops;
#   3. bench:style --backends webgpu at 256,512,1024 against onnxruntime-node (CPU, all cores) on the
#      same file and input: the agreement check's reference and a CPU figure on the same machine;
#      --write-results --results-section webgpu-style;
#   4. bench/gpu/layers.mjs at 1024²: each layer of the style network timed alone, and instanceNorm's
#      accuracy against float64 (LAYERS_SIZE, LAYERS_TIMEOUT).
# Results: $OUT/RESULTS.md (the bundle's copy of bench/RESULTS.md with both sections rewritten by
# the tools), $OUT/ops.json and $OUT/style.json (the reports), $OUT/check-*.jsonl, $OUT/reports.tar.gz
# (the .md/.html/.json files of --out), $OUT/layers.jsonl, $OUT/log.txt. Exit status: the first failing step's.
#
# Rehearse it on a CPU-only machine (SwiftShader; every number then says "CPU-emulated"):
#   EAI_GPU_REHEARSE=1 EAI_BENCH_ALLOW_EMULATED=1 OPS_SIZES=32,64 STYLE_SIZES=32 RUNS=2 \
#     VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json bash bench/gpu/device-run.sh
# Knobs: SKIP_OPS=1, OPS_SIZES, STYLE_SIZES, RUNS (bench:ops), STYLE_RUNS, STYLE_THREADS, the *_TIMEOUT values below.
set -uo pipefail

cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/bench/out/gpu}"
WORK="${EAI_GPU_WORK:-/tmp/eai-gpu}"
OPS_SIZES="${OPS_SIZES:-256,512,1024}"
STYLE_SIZES="${STYLE_SIZES:-256,512,1024}"
RUNS="${RUNS:-10}"
STYLE_RUNS="${STYLE_RUNS:-8}"
STYLE_THREADS="${STYLE_THREADS:-$(nproc)}"
CHECK_TIMEOUT="${CHECK_TIMEOUT:-60}"
OPS_TIMEOUT="${OPS_TIMEOUT:-120}"
STYLE_TIMEOUT="${STYLE_TIMEOUT:-150}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
say() { printf '[gpu %s] %s\n' "$(date +%T)" "$*" >&2; }
status=0
step() { # step NAME TIMEOUT CMD...: run, report the time and exit status, keep the first failure
  local name="$1" limit="$2" t0 rc
  shift 2
  t0=$(date +%s)
  say "step $name (timeout ${limit}s): $*"
  timeout -k 5 "$limit" "$@"
  rc=$?
  say "step $name: exit $rc after $(($(date +%s) - t0)) s$([ $rc = 124 ] && echo ' (timed out)')"
  [ $rc = 0 ] || [ $status != 0 ] || status=$rc
  return $rc
}

say "host $(uname -srm), $(nproc) cores; out: $OUT"

# 0. The bundle.
rm -rf "$WORK" && mkdir -p "$WORK"
if command -v xz >/dev/null; then
  tar -C "$WORK" -xJf .gpu/bundle.tar.xz
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .gpu/bundle.tar.xz "$WORK"
fi || { say "error: cannot unpack .gpu/bundle.tar.xz"; exit 10; }
APP="$WORK/app"
NODE="$APP/node"
(cd "$APP" && sha256sum -c --quiet SHA256SUMS) || { say "error: the bundle's checksums do not match"; exit 10; }
say "node $("$NODE" --version) at $NODE"

# 0. Vulkan: the loader (README recipe: dpkg -x the carried debs into /), then the NVIDIA driver.
if [ "${EAI_GPU_REHEARSE:-0}" != 1 ]; then
  if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    say "no libvulkan.so.1: unpacking $(ls .gl/*.deb 2>/dev/null | wc -l) carried debs from .gl/"
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  ldconfig -p | grep 'libvulkan\.so\.1' || say "warning: still no libvulkan.so.1"
  if [ -z "${VK_ICD_FILENAMES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
      /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
      [ -f "$icd" ] && { export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; break; }
    done
  fi
fi
say "Vulkan driver: ${VK_ICD_FILENAMES:-(loader default)}"
if [ -n "${VK_ICD_FILENAMES:-}" ] && [ -f "$VK_ICD_FILENAMES" ]; then
  cat "$VK_ICD_FILENAMES"
  lib="$(sed -n 's/.*"library_path"[^"]*"\([^"]*\)".*/\1/p' "$VK_ICD_FILENAMES")"
  [ -n "$lib" ] && { ldconfig -p | grep -F "$(basename "$lib")" | head -2; ldd "$(ldconfig -p | grep -F "$(basename "$lib")" | head -1 | sed 's/.*=> //')" 2>&1 | grep -i 'not found' || true; }
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
export EAI_MODELS_DIR="$APP/models" EAI_IMAGES_DIR="$APP/images" EAI_CACHE_DIR="$WORK/cache"
cd "$APP"

# The adapter, before spending the window on benchmarks.
step adapter 60 "$NODE" bench/gpu/check.mjs --adapter-only | tee "$WORK/adapter.json" || exit 3
if ! grep -q '"emulated":false' "$WORK/adapter.json"; then
  if [ "${EAI_BENCH_ALLOW_EMULATED:-0}" = 1 ]; then
    say "warning: the adapter is CPU-emulated (EAI_BENCH_ALLOW_EMULATED=1: running anyway; not GPU speed)"
  else
    say "error: the adapter is CPU-emulated or unknown: its numbers would not be GPU speed"
    exit 4
  fi
fi

# 1. Correctness on this adapter: the default kernel family, then the other.
step check-default "$CHECK_TIMEOUT" "$NODE" bench/gpu/check.mjs >"$OUT/check-default.jsonl"
cat "$OUT/check-default.jsonl"
other=blocked
grep -q '"emulated":true' "$WORK/adapter.json" && other=tiled
step "check-$other" "$CHECK_TIMEOUT" env EAI_WEBGPU_VARIANT=$other "$NODE" bench/gpu/check.mjs >"$OUT/check-$other.jsonl"
cat "$OUT/check-$other.jsonl"

# 2. bench:ops, webgpu against js in the same process (SKIP_OPS=1 skips it: the js baseline
#    alone takes a minute and a half of a short device window).
cp bench/RESULTS.md "$OUT/RESULTS.md"
[ "${SKIP_OPS:-0}" = 1 ] || step bench-ops "$OPS_TIMEOUT" "$NODE" bin/efficientai-toolkit.js bench:ops --backends webgpu,js --ops matmul,conv2d \
  --sizes "$OPS_SIZES" --runs "$RUNS" --warmup 3 --budget-s 30 --json --out "$WORK/out" \
  --write-results --results-file "$OUT/RESULTS.md" --results-section webgpu-ops >"$OUT/ops.json"

# 3. bench:style, webgpu against onnxruntime-node on this machine's CPU cores.
step bench-style "$STYLE_TIMEOUT" "$NODE" bin/efficientai-toolkit.js bench:style --backends webgpu --sizes "$STYLE_SIZES" \
  --threads "$STYLE_THREADS" --runs "$STYLE_RUNS" --rounds 4 --warmup 2 --budget-s 40 --json --out "$WORK/out" \
  --write-results --results-file "$OUT/RESULTS.md" --results-section webgpu-style >"$OUT/style.json"

# 4. Where the style network's WebGPU time goes, layer by layer, and instanceNorm's accuracy.
step layers "${LAYERS_TIMEOUT:-60}" "$NODE" bench/gpu/layers.mjs "${LAYERS_SIZE:-1024}" >"$OUT/layers.jsonl"
cat "$OUT/layers.jsonl"

# The generated sections, for the log.
sed -n '/<!-- bench:webgpu-ops:start -->/,$p' "$OUT/RESULTS.md"
[ -d "$WORK/out" ] && tar -C "$WORK" -czf "$OUT/reports.tar.gz" out
say "done: exit $status"
exit $status
