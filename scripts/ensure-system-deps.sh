#!/usr/bin/env bash
# Installs the system packages the test suite needs, from Debian, when they are missing:
#   chromium     headless browser for WebGPU/IndexedDB/UI tests, and its SwiftShader Vulkan ICD for Dawn in Node
#   libvulkan1   the Vulkan loader Dawn (the `webgpu` npm package) opens
# (The tests' Python oracle, real torch + transformers, is .venv: scripts/ensure-python-venv.sh.)
# Fails loudly (non-zero) when something is missing and cannot be installed; it never skips.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

echo "ensure-system-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  echo "ensure-system-deps: need root to apt-get install ${missing[*]}; install them and rerun." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Check again: an install that "succeeded" without the files is still a failure.
[ -x /usr/bin/chromium ] || { echo "ensure-system-deps: chromium still missing" >&2; exit 1; }
