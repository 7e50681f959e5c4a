"""Time our SAMViT against segment_anything's ImageEncoderViT.

Both encoders get the same random weights; the script checks that their
outputs agree, then times inference forwards (alternating, median over
rounds) and prints the ratio. Measures what our attention (relative position
bias folded into the q/k features, no N x N mask) and the projections that
skip window padding buy over the reference implementation.

    python tools/analysis_tools/benchmark_encoder.py --size 1024
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.testing import build_reference_sam

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_utils import machine  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='vit-b')
    parser.add_argument('--size', type=int, default=1024, help='input px')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    reference = build_reference_sam(args.arch, img_size=args.size)
    reference = reference.image_encoder.to(args.device).eval()
    ours = SAMViT(arch=args.arch, img_size=args.size).to(args.device).eval()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(args.batch_size, 3, args.size, args.size,
                    device=args.device)
    encoders = dict(
        segment_anything=reference, mmseg_mopeft=lambda x: ours(x)[0])
    times = {name: [] for name in encoders}
    with torch.no_grad():
        diff = (encoders['mmseg_mopeft'](x) - reference(x)).abs().max()
        if diff > 1e-3:  # timings of different computations mean nothing
            raise SystemExit(f'outputs differ by {diff:.2e}')
        for _ in range(args.iters):
            for name, encoder in encoders.items():
                if args.device.startswith('cuda'):
                    torch.cuda.synchronize()
                start = time.perf_counter()
                encoder(x)
                if args.device.startswith('cuda'):
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - start)
    ref_s = statistics.median(times['segment_anything'])
    ours_s = statistics.median(times['mmseg_mopeft'])
    print(f'SAM {args.arch}, {args.size}x{args.size}, batch '
          f'{args.batch_size}, {args.device}, median of {args.iters}')
    print(machine(args.device) + '\n')
    print('| encoder | forward (s) | x segment_anything |')
    print('|---|---:|---:|')
    print(f'| segment_anything | {ref_s:.3f} | 1.00 |')
    print(f'| mmseg_mopeft | {ours_s:.3f} | {ours_s / ref_s:.2f} |')
    print(f'\nmax abs difference of the outputs: {diff:.2e}')


if __name__ == '__main__':
    main()
