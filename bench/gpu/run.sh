#!/usr/bin/env bash
# WebGPU benchmarks on a real GPU: matmul and conv2d at 256/512/1024 on webgpu, with js
# measured in the same run as the baseline. For a Linux machine with an NVIDIA GPU and
# Vulkan; sized for a 15-minute device window (about 2-4 minutes once built).
#
#   bash bench/gpu/run.sh [OUT_DIR]        (default OUT_DIR: bench/out)
#
# Needs Node >= 20 (or NODE=/path/to/node) and the repo's node_modules (npm ci is run only
# when they are missing: nothing else is fetched). Writes bench-ops-<date>.json/.md/.html
# and webgpu.json into OUT_DIR and prints the table. Exits non-zero when WebGPU is missing
# or its adapter is CPU-emulated (a fallback adapter, SwiftShader, llvmpipe): such numbers
# are not GPU speed. EAI_BENCH_ALLOW_EMULATED=1 runs anyway, to rehearse the script on a
# CPU-only machine (with e.g. EAI_BENCH_SIZES=32,64 EAI_BENCH_RUNS=2: SwiftShader is slow);
# every output then says "CPU-emulated — not GPU speed".
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT_DIR="${1:-bench/out}"
NODE="${NODE:-node}"
mkdir -p "$OUT_DIR"
say() { printf '[bench/gpu] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v "$NODE" >/dev/null || die "node not found: install Node >= 20 or set NODE=/path/to/node"
major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "Node $("$NODE" --version) is too old: the toolkit needs Node >= 20"

# The NVIDIA Vulkan driver: say which ICD to use, or Dawn may pick another (or SwiftShader).
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
    /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$icd" ]; then export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; break; fi
  done
fi
say "Vulkan driver: ${VK_ICD_FILENAMES:-${VK_DRIVER_FILES:-(loader default)}}"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  say "warning: no libvulkan.so.1 in the linker cache: install the Vulkan loader (Debian/Ubuntu: libvulkan1) if WebGPU finds no adapter"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true

if [ ! -d node_modules/webgpu ]; then
  say "node_modules missing: npm ci (the repo's own dependencies only)"
  npm ci --no-audit --no-fund >&2 || die "npm ci failed: run npm install where the registry is reachable and carry node_modules"
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find bench cli core kernels backends projects node -newer dist/cli/main.js -name '*.ts' -print -quit 2>/dev/null)" ]; then
  say "building dist/ (tsc)"
  # tsc emits even when some files have type errors; the CLI entry must exist afterwards.
  "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json >&2 || true
  [ -f dist/cli/main.js ] || die "the build did not produce dist/cli/main.js"
fi

# Check the adapter before spending the window on benchmarks.
"$NODE" --input-type=module -e '
  await import("./dist/backends/node.js");
  const { probeBackend } = await import("./dist/index.js");
  const { adapterFromDetails } = await import("./dist/bench/record.js");
  const a = await probeBackend("webgpu");
  if (!a.available) { console.error(`[bench/gpu] error: WebGPU is unavailable: ${a.reason}`); process.exit(3); }
  const ad = adapterFromDetails(a.details);
  console.error(`[bench/gpu] adapter: ${a.reason}`);
  if (!ad || ad.emulated || ad.isFallbackAdapter) {
    const allow = process.env.EAI_BENCH_ALLOW_EMULATED === "1";
    console.error(`[bench/gpu] ${allow ? "warning" : "error"}: the adapter is CPU-emulated (fallback: ${ad?.isFallbackAdapter}); its numbers are not GPU speed${allow ? " (EAI_BENCH_ALLOW_EMULATED=1: running anyway)" : ""}`);
    process.exit(allow ? 0 : 4);
  }
  process.exit(0);
' || exit $?

say "running bench:ops (webgpu and js, matmul and conv2d at ${EAI_BENCH_SIZES:-256,512,1024})"
timeout "${EAI_BENCH_TIMEOUT:-600}" "$NODE" bin/efficientai-toolkit.js bench:ops --backends webgpu,js \
  --ops matmul,conv2d --sizes "${EAI_BENCH_SIZES:-256,512,1024}" --runs "${EAI_BENCH_RUNS:-10}" --warmup 3 \
  --json --out "$OUT_DIR" --log-level warn >"$OUT_DIR/webgpu.json"

# The table, from the Markdown file this run wrote (the newest one).
latest="$(ls -t "$OUT_DIR"/bench-ops-*.md | head -n 1)"
cat "$latest"
"$NODE" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const gpu = r.records.filter((x) => x.backend === "webgpu");
  if (gpu.length === 0) { console.error("[bench/gpu] error: no webgpu result: " + JSON.stringify(r.unavailable) + " " + r.notes.join("; ")); process.exit(5); }
  if (gpu.some((x) => !x.adapter || x.adapter.emulated) && process.env.EAI_BENCH_ALLOW_EMULATED !== "1") process.exit(4);
' "$OUT_DIR/webgpu.json"
say "results: $OUT_DIR/webgpu.json and $latest (+ .html)"
