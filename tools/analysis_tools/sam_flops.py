"""SAM encoder FLOPs: closed form against what get_flops.py counts.

    python tools/analysis_tools/sam_flops.py [--arch vit-b] [--size 1024]

Prints, for one encoder forward (batch 1), in multiply-adds (mmengine's
unit; ``torch.utils.flop_counter`` reports twice these):

* closed form of SAM's own computation (``segment_anything``: attention as
  ``q @ k^T`` and ``P @ v`` at head width, decomposed relative position
  bias, q/k/v and output projections of the window padding too);
* closed forms of our ``SAMViT``, which skips the projections and the
  queries of the window padding: in inference (the bias as an additive
  mask, head width) and in training on a GPU, where the bias is folded into
  wider queries/keys (head width + window rows + columns, padded to 8) and
  values are padded to that width (training on a CPU computes the
  inference forward's attention, blockwise);
* what ``tools/analysis_tools/get_flops.py`` counts by tracing the model (an
  inference forward), and its ratio to our inference closed form.
"""
import argparse
import importlib.util
import math
import os.path as osp

import torch

from mmseg_mopeft.models.backbones.sam_vit import ARCH_SETTINGS, SAMViT


def _round8(width: int) -> int:
    return width + -width % 8


def encoder_macs(arch: str = 'vit-b',
                 size: int = 1024,
                 patch: int = 16,
                 window: int = 14,
                 out_channels: int = 256,
                 reference: bool = False,
                 widened: bool = False) -> dict:
    """Multiply-adds of one SAM encoder forward by part: ``segment_anything``'s
    ``ImageEncoderViT`` with ``reference=True``, else our ``SAMViT``, whose
    attention is ``widened`` when gradients flow on a GPU (see the module
    docstring)."""
    setting = ARCH_SETTINGS[arch]
    dims, depth = setting['embed_dims'], setting['depth']
    heads = setting['num_heads']
    head_dim = dims // heads
    grid = size // patch
    tokens = grid * grid
    parts = dict(
        patch_embed=tokens * dims * 3 * patch * patch,
        linear=depth * tokens * 12 * dims * dims,  # qkv, proj, 2-layer MLP
        layer_norm=depth * 2 * tokens * dims * 5,  # mmengine's norm estimate
        attention=0,
        rel_pos=0,
        neck=tokens * dims * out_channels +
        tokens * out_channels * out_channels * 9)
    for block in range(depth):
        if block in setting['global_attn_indexes']:
            side, windows = grid, 1
        else:
            side, windows = window, math.ceil(grid / window)**2
        n = side * side
        # SAM's padding tokens query too; ours only image tokens do
        queries = windows * n if reference else tokens
        # relative position bias: queries against both axes' tables
        parts['rel_pos'] += queries * heads * 2 * side * head_dim
        width = _round8(head_dim + 2 * side) if widened else head_dim
        parts['attention'] += queries * heads * n * 2 * width
        if reference:
            # SAM projects q/k/v and the output of the padding tokens too
            parts['linear'] += (windows * n - tokens) * 4 * dims * dims
    parts['total'] = sum(parts.values())
    return parts


def counted_macs(arch: str, size: int, window: int = 14) -> int:
    """The encoder's FLOPs as get_flops.py counts them."""
    spec = importlib.util.spec_from_file_location(
        'get_flops', osp.join(osp.dirname(__file__), 'get_flops.py'))
    get_flops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(get_flops)
    model = SAMViT(arch=arch, img_size=size, window_size=window).eval()
    with torch.no_grad():
        return get_flops.count_flops(model, torch.rand(1, 3, size,
                                                       size)).total()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='vit-b', choices=ARCH_SETTINGS)
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--window', type=int, default=14)
    args = parser.parse_args()
    sam = encoder_macs(
        args.arch, args.size, window=args.window, reference=True)
    ours = encoder_macs(args.arch, args.size, window=args.window)
    training = encoder_macs(
        args.arch, args.size, window=args.window, widened=True)
    counted = counted_macs(args.arch, args.size, args.window)
    print(f'SAM {args.arch} encoder, {args.size}x{args.size}, batch 1, '
          'GMAC (x2 = GFLOP as torch counts)\n')
    print('| count | attention | total | x closed form (ours) |')
    print('|---|---:|---:|---:|')
    for name, parts in (('closed form, SAM', sam),
                        ('closed form, SAMViT inference', ours),
                        ('closed form, SAMViT training forward on a GPU',
                         training)):
        print(f"| {name} | {parts['attention'] / 1e9:.2f} | "
              f"{parts['total'] / 1e9:.2f} | "
              f"{parts['total'] / ours['total']:.3f} |")
    print(f"| get_flops.py, SAMViT | - | {counted / 1e9:.2f} | "
          f"{counted / ours['total']:.3f} |")


if __name__ == '__main__':
    main()
