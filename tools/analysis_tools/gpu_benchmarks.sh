#!/usr/bin/env bash
# The GPU figures in one call: benchmark_peers.py and benchmark_peft.py on
# CUDA, bf16 autocast (fp32 beside it for the peers), batch 4, with absolute
# step times, images per second and model FLOP utilisation (torch's FLOP
# counter / step time / the GPU's peak). Tables go to stdout and $OUT/.
#
#   tools/analysis_tools/gpu_benchmarks.sh [--peak-tflops 989.5] [--size 1024]
#       [--batch-size 4] [--iters 10] [--out work_dirs/gpu_benchmarks]
#       [--no-hf] [--no-memory] [--device cuda] [--arch vit-b]
#       [--wheels DIR]
#
# --peak-tflops: the GPU's dense bf16 peak in TFLOP/s; the default is the
# H200's (NVIDIA: 1,979 with 2:4 sparsity, half of it dense). --no-hf skips
# the transformers rows (they need .venv-peers/, which benchmark_peers.py
# creates with pip on first use, or --peers-python via PEERS_PYTHON).
# --no-memory skips benchmark_peers.py's peak memory (on a GPU a step per
# row and precision in its process, the transformers rows in their own;
# benchmark_peft.py always measures it). --device cpu --arch tiny is a dry
# run of the same commands (no CUDA check). PYTHON selects the interpreter
# (default: .venv/bin/python, else python). --wheels DIR: for a machine
# without PyPI, install the wheels requirements/wheelhouse.sh made for it into
# a temporary folder and run from there (with PEERS_PYTHON=python3 where that
# Python has transformers and peft). --out and --wheels are relative to the
# calling directory; the default --out is $OUT if set (the device machine's
# folder that comes back), else work_dirs/gpu_benchmarks in the repository.
# Tables already there stop the run before it starts (never overwritten).
# A failing benchmark does not stop the other one; the exit status is then 1.
set -euo pipefail
CALLER=$PWD
cd "$(dirname "$0")/../.."
from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }

PEAK_TFLOPS=989.5
SIZE=1024
BATCH=4
ITERS=10
OUT=${OUT:-$PWD/work_dirs/gpu_benchmarks}
HF=1
MEMORY=()
DEVICE=cuda
ARCH=vit-b
WHEELS=
while [ $# -gt 0 ]; do
    case "$1" in
        --peak-tflops) PEAK_TFLOPS=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --batch-size) BATCH=$2; shift 2 ;;
        --iters) ITERS=$2; shift 2 ;;
        --out) OUT=$(from_caller "$2"); shift 2 ;;
        --no-hf) HF=0; shift ;;
        --no-memory) MEMORY=(--no-memory); shift ;;
        --device) DEVICE=$2; shift 2 ;;
        --arch) ARCH=$2; shift 2 ;;
        --wheels) WHEELS=$(from_caller "$2"); shift 2 ;;
        *) echo "gpu_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
TABLES=("$OUT/peers_${SIZE}px_batch${BATCH}.md" "$OUT/peft_${SIZE}px_batch${BATCH}.md")
for table in "${TABLES[@]}"; do
    if [ -e "$table" ]; then
        echo "gpu_benchmarks.sh: $table already exists; it is not" \
             "overwritten: give another --out or move it away" >&2
        exit 2
    fi
done
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
if [ -n "$WHEELS" ]; then
    compgen -G "$WHEELS/*.whl" >/dev/null || {
        echo "gpu_benchmarks.sh: no wheels in $WHEELS (requirements/wheelhouse.sh" \
             "makes them)" >&2
        exit 1
    }
    SITE=$(mktemp -d)
    trap 'rm -rf "$SITE"' EXIT
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
        --target "$SITE" "$WHEELS"/*.whl
    export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PYTHON" -c 'import mmcv.ops, mmseg_mopeft
print(f"mmcv {mmcv.__version__} from {mmcv.__path__[0]}")' || {
    echo "gpu_benchmarks.sh: $PYTHON cannot import mmseg_mopeft and mmcv's ops:" \
         "make install, or --wheels DIR (requirements/wheelhouse.sh)" >&2
    exit 1
}
if [[ "$DEVICE" == cuda* ]]; then
"$PYTHON" - <<'PY'
import torch
if not torch.cuda.is_available():
    raise SystemExit('gpu_benchmarks.sh: no CUDA device visible to torch')
print(f'GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, '
      f'bf16 supported: {torch.cuda.is_bf16_supported()}')
PY
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv || true
fi
mkdir -p "$OUT"

COMMON=(--device "$DEVICE" --arch "$ARCH" --size "$SIZE" --batch-size "$BATCH" --iters "$ITERS" --warmup 3)

ROWS=()
if [ "$HF" = 0 ]; then
    ROWS=(--rows ours_full_ft ours_lora ours_mopeft ours_mopeft_cp
          ours_mopeft_last_half sam_full_ft sam_lora)
fi
PEERS=()
if [ -n "${PEERS_PYTHON:-}" ]; then PEERS=(--peers-python "$PEERS_PYTHON"); fi
FAILED=()
"$PYTHON" tools/analysis_tools/benchmark_peers.py "${COMMON[@]}" \
    --dtype fp32 bf16 --mfu --peak-tflops "$PEAK_TFLOPS" \
    "${ROWS[@]}" "${PEERS[@]}" "${MEMORY[@]}" \
    | tee "${TABLES[0]}" || FAILED+=(benchmark_peers.py)

"$PYTHON" tools/analysis_tools/benchmark_peft.py "${COMMON[@]}" \
    --dtypes bf16 --mfu --peak-tflops "$PEAK_TFLOPS" \
    | tee "${TABLES[1]}" || FAILED+=(benchmark_peft.py)

echo "gpu_benchmarks.sh: tables in $OUT" >&2
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "gpu_benchmarks.sh: failed: ${FAILED[*]} (see above)" >&2
    exit 1
fi
