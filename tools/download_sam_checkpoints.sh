#!/usr/bin/env bash
# Fetch the official SAM checkpoints into checkpoints/ and verify their md5.
# Usage: tools/download_sam_checkpoints.sh [vit_b] [vit_l] [vit_h]   (default: vit_b)
set -euo pipefail
cd "$(dirname "$0")/.."
URL=https://dl.fbaipublicfiles.com/segment_anything
declare -A FILES=(
  [vit_b]="sam_vit_b_01ec64.pth 01ec64d29a2fca3f0661936605ae66f8"
  [vit_l]="sam_vit_l_0b3195.pth 0b3195507c641ddb6910d2bb5adee89c"
  [vit_h]="sam_vit_h_4b8939.pth 4b8939a88964f0f4ff5f5b2642c598a6"
)
mkdir -p checkpoints
for arch in "${@:-vit_b}"; do
  if [[ -z "${FILES[$arch]:-}" ]]; then
    echo "unknown arch '$arch' (choose vit_b, vit_l, vit_h)" >&2; exit 1
  fi
  read -r name md5 <<<"${FILES[$arch]}"
  target=checkpoints/$name
  if [[ ! -f $target ]]; then
    curl -fL --retry 3 -o "$target.part" "$URL/$name"
    mv "$target.part" "$target"
  fi
  echo "$md5  $target" | md5sum -c -
done
