#!/usr/bin/env bash
# System packages the test suite needs on a fresh Debian machine.
# Skips apt entirely when everything is already present, so local runs stay fast.
set -euo pipefail
needed=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps: need root to install: ${needed[*]} (run: sudo apt-get install -y ${needed[*]})" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${needed[@]}"
fi
