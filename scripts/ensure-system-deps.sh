#!/usr/bin/env bash
# Installs the system packages the test suite needs, from Debian, when they are missing:
#   chromium      headless browser for WebGPU/IndexedDB/UI tests, and its SwiftShader Vulkan ICD for Dawn in Node
#   libvulkan1    the Vulkan loader Dawn (the `webgpu` npm package) opens
#   mesa-vulkan-drivers from bookworm-backports (Mesa 25): lavapipe, the second software adapter of the Node tests
#                 (shader-f16, subgroups, a 128 MiB storage binding limit). Debian 12's own Mesa 22 is refused by Dawn,
#                 so the backports suite is added (same mirror as the system's) and only this package and the
#                 dependencies it requires come from it.
# (The tests' Python oracle, real torch + transformers, is .venv: scripts/ensure-python-venv.sh.)
# Fails loudly (non-zero) when something is missing and cannot be installed; it never skips.
set -euo pipefail

LVP_ICD=/usr/share/vulkan/icd.d/lvp_icd.json
MESA_MIN=25

mesa_ok() {
  [ -f "$LVP_ICD" ] || return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge "$MESA_MIN"
}

missing=()
[ -x /usr/bin/chromium ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
need_mesa=0
mesa_ok || need_mesa=1

if [ ${#missing[@]} -eq 0 ] && [ $need_mesa -eq 0 ]; then exit 0; fi

want="${missing[*]}"
if [ $need_mesa -eq 1 ]; then want="${want:+$want }mesa-vulkan-drivers (Mesa >= $MESA_MIN, bookworm-backports)"; fi
echo "ensure-system-deps: installing $want" >&2
if [ "$(id -u)" != 0 ]; then
  echo "ensure-system-deps: need root to install $want; install them and rerun (README: the node-lavapipe test project)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

if [ $need_mesa -eq 1 ]; then
  . /etc/os-release
  if [ "${VERSION_CODENAME:-}" != bookworm ]; then
    echo "ensure-system-deps: lavapipe from Mesa >= $MESA_MIN is needed ($LVP_ICD); this set-up knows Debian 12 (bookworm) only, this is ${PRETTY_NAME:-unknown}: install Mesa's Vulkan drivers >= $MESA_MIN and rerun." >&2
    exit 1
  fi
  # The backports suite, once, from the mirror the system already uses.
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | awk '{print $2}' | grep -v security | head -n1)
    [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1)
    [ -n "$mirror" ] || { echo "ensure-system-deps: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
      > /etc/apt/sources.list.d/backports.sources
  fi
fi

apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $need_mesa -eq 1 ]; then
  # -t: this package (and what it requires) from backports; nothing else is upgraded.
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
# Check again: an install that "succeeded" without the files is still a failure.
[ -x /usr/bin/chromium ] || { echo "ensure-system-deps: chromium still missing" >&2; exit 1; }
mesa_ok || { echo "ensure-system-deps: $LVP_ICD from Mesa >= $MESA_MIN still missing after the install" >&2; exit 1; }
