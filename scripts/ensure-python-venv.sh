#!/usr/bin/env bash
# Builds .venv/ in the repository: the Python the parity and export tests run as their oracle (real torch,
# transformers, peft, trl, safetensors, tokenizers, gguf), offline, from this machine's local package mirror:
#   - the CPU torch wheel from pip's find-links folder (installed as a file, first, so nothing can pull a CUDA build),
#   - everything else with the mirror's file:// indexes (pip config's extra-index-url) as the ONLY indexes.
# Never PyPI: pip's default index would spend minutes retrying pypi.org on a machine without a network.
# A no-op (about two seconds) when .venv already imports every package at the versions below.
# Fails loudly: one line "ensure-python-venv: ..." on stderr and exit 1; it never skips.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv
TORCH=2.13.0+cpu
PACKAGES=(transformers==5.18.0 peft==0.21.0 trl==1.13.0 safetensors==0.8.0 tokenizers==0.23.2 gguf==0.19.0)

fail() { echo "ensure-python-venv: $*" >&2; exit 1; }

# Every package is installed at exactly its pinned version and torch imports (importing peft would cost 5 s;
# the tests import it for real).
ready() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "torch==$TORCH" "${PACKAGES[@]}" <<'EOF' 2>/dev/null
import importlib.metadata as md, importlib.util, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    if md.version(name) != version or importlib.util.find_spec(name) is None:
        sys.exit(1)
import torch
EOF
}

ready && exit 0

# transformers' torch wheel is built for CPython 3.11: find one with venv + ensurepip.
PYTHON=
for p in python3.11 /usr/bin/python3.11 python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    PYTHON=$(command -v "$p"); break
  fi
done
[ -n "$PYTHON" ] || fail "no Python 3.11 with venv/ensurepip found (apt-get install python3.11-venv)"

# The mirror, as pip is configured to read it on this machine kind.
config=$(pip config list 2>/dev/null || "$PYTHON" -m pip config list 2>/dev/null || true)
setting() { printf '%s\n' "$config" | sed -n "s/^[^=]*\.$1='\(.*\)'$/\1/p" | head -n1; }
read -r -a indexes <<<"$(setting extra-index-url)"
read -r -a links <<<"$(setting find-links)"
local_indexes=()
for u in "${indexes[@]}"; do [[ $u == file://* ]] && [ -d "${u#file://}" ] && local_indexes+=("$u"); done
[ ${#local_indexes[@]} -gt 0 ] || fail "pip config has no local file:// package index (extra-index-url); cannot build .venv offline"
wheel=
for d in "${links[@]}"; do
  for w in "$d"/torch-"$TORCH"-cp311-*.whl; do [ -f "$w" ] && { wheel=$w; break 2; }; done
done
[ -n "$wheel" ] || fail "no torch-$TORCH cp311 wheel in pip's find-links (${links[*]:-none configured})"

echo "ensure-python-venv: building $VENV from $wheel and ${local_indexes[*]}" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || fail "python -m venv $VENV failed"
pipi() { "$VENV/bin/python" -m pip install --quiet --quiet --no-input --disable-pip-version-check "$@"; }
mirror=(--index-url "${local_indexes[0]}")
for u in "${local_indexes[@]:1}"; do mirror+=(--extra-index-url "$u"); done
for d in "${links[@]}"; do mirror+=(--find-links "$d"); done
pipi --no-index --no-deps "$wheel" || fail "installing $wheel failed"
# torch's own dependencies, then the rest; torch stays pinned to the wheel's version.
pipi "${mirror[@]}" "$wheel" "torch==$TORCH" "${PACKAGES[@]}" || fail "pip install from ${local_indexes[*]} failed (see above)"
ready || fail "$VENV built but does not import torch==$TORCH ${PACKAGES[*]}"
echo "ensure-python-venv: ready" >&2
