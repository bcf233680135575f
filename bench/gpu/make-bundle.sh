#!/usr/bin/env bash
# Build the self-contained bundle that bench/gpu/device-run.sh runs on a GPU machine that has
# no Node.js and no network (the lent NVIDIA machines). Run it here, on a machine with Node,
# the repo's node_modules and ../shared/models:
#
#   bash bench/gpu/make-bundle.sh            (builds .gpu/bundle.tar.xz and .gl/*.deb)
#
# What it does, and why:
# - builds dist/ from a snapshot of HEAD (a temporary `git worktree`, node_modules linked
#   from this checkout), not from the working tree others may be editing; EAI_GPU_PATCH=FILE
#   applies a diff on top first (uncommitted changes that the run needs);
# - stages, under one folder `app/`: this machine's node binary (Node 20, dynamically linked
#   against glibc/libstdc++ only), package.json, bin/, dist/ without tests, maps and .d.ts,
#   the WGSL sources beside the compiled modules that load them, the runtime dependencies of
#   package.json (webgpu with only dist/linux-x64/dawn.node), onnxruntime-node (linux-x64
#   only: the reference of bench:style's agreement check, and a CPU figure on that machine),
#   models/fast-neural-style/mosaic.onnx (EAI_MODELS_DIR layout), the astronaut sample,
#   bench/RESULTS.md (the file the run writes its sections into) and bench/gpu/*.mjs (check.mjs,
#   layers.mjs);
# - packs it as .gpu/bundle.tar.xz (xz -9; about 45 MiB) and fetches the Vulkan loader debs
#   into .gl/ (apt-get download, as /work/.library/device/README.md describes).
# Add `/.gpu/` and `/.gl/` to .git/info/exclude; a device call carries both (64 MiB in all).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUNDLE_DIR="$ROOT/.gpu"
MODELS="${EAI_MODELS_DIR:-$ROOT/../shared/models}"
IMAGES="${EAI_IMAGES_DIR:-$ROOT/../shared/images}"
NODE_BIN="$(readlink -f "${NODE:-$(command -v node)}")"
say() { printf '[make-bundle] %s\n' "$*" >&2; }

tmp="$(mktemp -d /tmp/eai-gpu-bundle.XXXXXX)"
wt="$tmp/worktree"
app="$tmp/app"
cleanup() {
  git -C "$ROOT" worktree remove --force "$wt" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

say "snapshot of $(git -C "$ROOT" rev-parse --short HEAD) in $wt"
git -C "$ROOT" worktree add --detach "$wt" HEAD >/dev/null
if [ -n "${EAI_GPU_PATCH:-}" ]; then
  say "applying $EAI_GPU_PATCH"
  git -C "$wt" apply "$EAI_GPU_PATCH"
fi
cp "$ROOT"/bench/gpu/*.mjs "$wt/bench/gpu/"
ln -s "$ROOT/node_modules" "$wt/node_modules"
say "building dist/ (tsc)"
(cd "$wt" && "$NODE_BIN" node_modules/typescript/bin/tsc -p tsconfig.json)

mkdir -p "$app/bench/gpu" "$app/node_modules" "$app/models/fast-neural-style" "$app/images/content"
cp "$NODE_BIN" "$app/node"
cp "$wt/package.json" "$app/"
cp -r "$wt/bin" "$app/"
(cd "$wt" && find dist -path dist/test -prune -o -type f -name '*.js' -print | xargs cp --parents -t "$app")
(cd "$wt" && find kernels backends -name '*.wgsl' | while read -r f; do
  mkdir -p "$app/dist/$(dirname "$f")" && cp "$f" "$app/dist/$f"
done)
cp "$wt/bench/RESULTS.md" "$app/bench/RESULTS.md"
cp "$wt"/bench/gpu/*.mjs "$app/bench/gpu/"

# The runtime closure of package.json's dependencies (npm ls reads; it installs nothing),
# minus node-addon-api (build time only) and type packages.
deps="$(cd "$ROOT" && npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s|^$ROOT/node_modules/||p" |
  grep -v -e '^node-addon-api$' -e '^@webgpu/types$' -e '^webgpu$' | sort -u)"
for d in $deps onnxruntime-common; do
  mkdir -p "$app/node_modules/$(dirname "$d")"
  cp -r "$ROOT/node_modules/$d" "$app/node_modules/$d"
done
w="$app/node_modules/webgpu"
mkdir -p "$w/dist/linux-x64"
cp "$ROOT"/node_modules/webgpu/{index.js,package.json,LICENSE.md} "$w/"
cp "$ROOT/node_modules/webgpu/dist/linux-x64/dawn.node" "$w/dist/linux-x64/"
o="$app/node_modules/onnxruntime-node"
mkdir -p "$o/bin/napi-v6/linux"
cp -r "$ROOT"/node_modules/onnxruntime-node/{dist,package.json} "$o/"
[ -f "$ROOT/node_modules/onnxruntime-node/LICENSE" ] && cp "$ROOT/node_modules/onnxruntime-node/LICENSE" "$o/"
cp -r "$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64" "$o/bin/napi-v6/linux/"
find "$app/node_modules" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

cp "$MODELS/fast-neural-style/mosaic.onnx" "$app/models/fast-neural-style/"
[ -f "$IMAGES/content/astronaut.png" ] && cp "$IMAGES/content/astronaut.png" "$app/images/content/"
(cd "$app" && sha256sum models/fast-neural-style/mosaic.onnx node >SHA256SUMS)

say "packing $(du -sh "$app" | cut -f1) into $BUNDLE_DIR/bundle.tar.xz (xz -9)"
mkdir -p "$BUNDLE_DIR"
tar -C "$tmp" -cf - app | xz -9 -T0 >"$BUNDLE_DIR/bundle.tar.xz.part"
mv "$BUNDLE_DIR/bundle.tar.xz.part" "$BUNDLE_DIR/bundle.tar.xz"

if [ "${EAI_GPU_SKIP_GL:-0}" != 1 ] && ! ls "$ROOT"/.gl/libvulkan1_*.deb >/dev/null 2>&1; then
  say "fetching the Vulkan loader debs into .gl/"
  mkdir -p "$ROOT/.gl" /tmp/amd64/partial
  a='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $a update >/dev/null
  # shellcheck disable=SC2086
  (cd "$ROOT/.gl" && apt-get $a download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
fi
du -sh "$BUNDLE_DIR" "$ROOT/.gl" >&2
