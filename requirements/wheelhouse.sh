#!/usr/bin/env bash
# Wheels for a machine that cannot reach PyPI but has a CUDA PyTorch image
# (a cluster node, a lent GPU box): mmcv built for that machine's torch and
# Python, and the rest of requirements/wheelhouse.txt. Install them there with
#   pip install --no-index --no-deps --target SITE DIR/*.whl
# and put SITE and the repository on PYTHONPATH (gpu_benchmarks.sh --wheels
# does both).
#
# PYTHON must match the target: the same Python minor version and the same
# torch version. Any build of that torch will do: on a machine without a GPU
# mmcv's ops are built for CPU only, which is all the encoder benchmarks need,
# and they link against the same libtorch as the target's CUDA build.
#
# Usage: requirements/wheelhouse.sh PYTHON DIR
set -euo pipefail
PY=${1:?usage: wheelhouse.sh PYTHON DIR}
DIR=${2:?usage: wheelhouse.sh PYTHON DIR}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$DIR"
mmcv=$("$here/build_mmcv.sh" "$PY")
for whl in "$mmcv"/mmcv-*.whl; do  # its name says nothing of the torch
    dst="$DIR/$(basename "$whl")"
    if [ -e "$dst" ] && ! cmp -s "$whl" "$dst"; then
        echo "wheelhouse.sh: $dst is another build of mmcv than the one for" \
             "$PY's torch; remove it or choose another DIR" >&2
        exit 1
    fi
    cp "$whl" "$dst"
done
grep -v '^#' "$here/wheelhouse.txt" | "$PY" -m pip download -q --no-deps \
    --only-binary :all: -c "$here/constraints.txt" -d "$DIR" -r /dev/stdin
"$PY" - "$DIR" <<'PY'
import collections, os, sys
names = collections.Counter(f.split('-')[0].lower().replace('_', '-')
                            for f in os.listdir(sys.argv[1]) if f.endswith('.whl'))
twice = sorted(n for n, c in names.items() if c > 1)
if twice:  # pip install --no-deps would fail on two versions of one package
    sys.exit(f'wheelhouse.sh: {sys.argv[1]} holds several versions of {twice}')
PY
du -sh "$DIR"
