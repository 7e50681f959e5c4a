"""Time the training attention paths of SAMViT on one block's shape.

With gradients, ``Attention`` runs the fused ``scaled_dot_product_attention``
with SAM's position bias folded into wider queries and keys (its path on
GPUs), or ``blockwise_attention`` at SAM's head width (its path on CPUs;
in bf16 windows it, too, folds the bias into the dot product).
This times both, forward and backward of the attention alone (after the
q/k/v projection, before the output projection), round-robin, after
checking that they agree, and prints the ratio.

    python tools/analysis_tools/benchmark_attention.py --block window
"""
import argparse
import math
import os.path as osp
import sys

import torch

from mmseg_mopeft.engine.optimizers import PRECISIONS, mixed_precision
from mmseg_mopeft.models.backbones.sam_vit import ARCH_SETTINGS, Attention

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_utils import machine, time_round_robin  # noqa: E402

PATHS = {'fused, widened': '_attend_widened', 'blockwise': '_attend_blockwise'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='vit-b', choices=ARCH_SETTINGS)
    parser.add_argument('--size', type=int, default=1024, help='input px')
    parser.add_argument('--block', default='global',
                        choices=['global', 'window'],
                        help='a global block, or the windows of a windowed '
                        'one (14 x 14, every window whole)')
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=['fp32', 'bf16'])
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def build(args):
    """The attention module and q/k/v of one block: (windows, heads,
    side * side, head width)."""
    setting = ARCH_SETTINGS[args.arch]
    dims, heads = setting['embed_dims'], setting['num_heads']
    grid = args.size // 16
    side = grid if args.block == 'global' else 14
    windows = 1 if args.block == 'global' else math.ceil(grid / 14)**2
    torch.manual_seed(0)
    attn = Attention(dims, heads, True, (side, side)).to(args.device)
    with torch.no_grad():  # SAM's tables start at zero
        attn.rel_pos_h.normal_(std=0.1)
        attn.rel_pos_w.normal_(std=0.1)
    qkv = [
        torch.randn(windows, heads, side * side, dims // heads,
                    device=args.device) for _ in range(3)
    ]
    return attn, qkv, (side, side)


def step(attn, path, qkv, hw, precision, grad_out):
    """Forward and backward of one path; returns its output and the
    gradients of q, k, v and the position tables. q/k/v come in the
    autocast precision, as from the q/k/v projection."""
    dtype = PRECISIONS[precision] or torch.float
    leaves = [t.detach().to(dtype).requires_grad_() for t in qkv]
    with mixed_precision(qkv[0].device.type, precision):
        out = getattr(attn, PATHS[path])(*leaves, hw, hw, None)
    grads = torch.autograd.grad(
        out, leaves + [attn.rel_pos_h, attn.rel_pos_w], grad_out.to(out))
    return out, grads


def main():
    args = parse_args()
    attn, qkv, hw = build(args)
    grad_out = torch.randn_like(qkv[0])
    # timings of different computations mean nothing
    (out_a, grads_a), (out_b, grads_b) = (
        step(attn, path, qkv, hw, 'fp32', grad_out) for path in PATHS)
    diff = max((a - b).abs().max().item()
               for a, b in zip((out_a, ) + grads_a, (out_b, ) + grads_b))
    if diff > 1e-3:
        raise SystemExit(f'the paths differ by {diff:.2e}')
    tasks = {(path, dtype): (lambda p=path, d=dtype: step(
        attn, p, qkv, hw, d, grad_out))
             for dtype in args.dtypes for path in PATHS}
    seconds = time_round_robin(tasks, args.warmup, args.iters, args.device)
    windows, heads, tokens, width = qkv[0].shape
    print(f'SAM {args.arch} attention, {args.size} px, {args.block} block '
          f'({windows} x {heads} heads x {tokens} tokens x {width}), '
          f'{args.device}, forward and backward, median of {args.iters} '
          f'rounds after {args.warmup} warm-up; largest difference of the '
          f'paths in fp32: {diff:.1e}')
    print(machine(args.device) + '\n')
    print('| path | precision | seconds | x fused, widened |')
    print('|---|---|---:|---:|')
    for (path, dtype), s in seconds.items():
        ref = seconds[('fused, widened', dtype)]
        print(f'| {path} | {dtype} | {s:.3f} | {s / ref:.2f} |')


if __name__ == '__main__':
    main()
