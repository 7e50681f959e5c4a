#!/usr/bin/env bash
# Build mmcv (full, with compiled ops) for the torch installed in a given Python, once.
#
# No prebuilt mmcv 2.1 wheel exists for recent torch, and mmcv's setup.py pins
# -std=c++17 while torch >= 2.14 headers require C++20, so we patch that flag and
# build from the sdist. The wheel is cached per (mmcv, torch, python, cpu/cuda):
# pip's own wheel cache would happily reuse a wheel built against another torch.
#
# Usage: requirements/build_mmcv.sh PYTHON   -> prints the directory holding the wheel
set -euo pipefail
PY=${1:?usage: build_mmcv.sh PYTHON}
MMCV_VERSION=2.1.0

tag=$("$PY" - <<'PY'
import sys, torch
flavour = 'cuda' if torch.cuda.is_available() else 'cpu'
print(f"torch{torch.__version__.replace('+', '_')}-cp{sys.version_info[0]}{sys.version_info[1]}-{flavour}")
PY
)
cache="${MMSEG_MOPEFT_CACHE:-$HOME/.cache/mmseg_mopeft}/mmcv-$MMCV_VERSION-$tag"
if compgen -G "$cache/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
  echo "$cache"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Building mmcv $MMCV_VERSION with ops for $tag (takes ~10 min on 2 cores)..." >&2
"$PY" -m pip download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work" >&2
tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
src="$work/mmcv-$MMCV_VERSION"
sed -i 's/-std=c++14/-std=c++20/; s/-std=c++17/-std=c++20/' "$src/setup.py"
MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
  "$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$work/dist" "$src" >&2
mkdir -p "$cache.tmp"
mv "$work"/dist/mmcv-*.whl "$cache.tmp/"
mv "$cache.tmp" "$cache"   # appears only when complete
echo "$cache"
