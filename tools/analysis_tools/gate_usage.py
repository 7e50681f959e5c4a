"""Plot how often each PEFT method is used, from GateRecorderHook output.

The MoPEFT paper's Figure 2 shows, per dataset, how often LoRA, prefix tuning
and adapters are "called" at inference. A method counts as called in a block
for an image when its gate exceeds ``--threshold`` (default 0.5: it then
contributes more than half of its ungated strength). Writes
``gate_usage.png`` (share of (image, block) pairs above the threshold per
method), ``gate_heatmap.png`` (mean gate per method and block), beside the
gates file or into ``--out-dir`` (never over existing figures), and prints
both as tables.

    python tools/analysis_tools/gate_usage.py work_dirs/x/<timestamp>/gates.npz
"""
import argparse
import os
import os.path as osp

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmseg_mopeft.utils.new_files import refuse_existing  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('gates', help='gates.npz written by GateRecorderHook')
    parser.add_argument('--threshold', type=float, default=0.5)
    parser.add_argument('--out-dir', help='default: next to the gates file')
    parser.add_argument('--title', default='', help='e.g. the dataset name')
    return parser.parse_args()


def load_gates(path: str):
    """-> {method: (images, blocks) array with NaN where absent}."""
    with np.load(path) as data:
        return {k: data[k] for k in data.files if k != 'img_paths'}


def usage(gates, threshold):
    """Share of recorded (image, block) gates above ``threshold``."""
    return {
        name: float(np.mean(values[~np.isnan(values)] > threshold))
        for name, values in gates.items()
    }


def main():
    args = parse_args()
    gates = load_gates(args.gates)
    if not gates:
        raise SystemExit(f'{args.gates} holds no gate values')
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.gates))
    refuse_existing(*(osp.join(out_dir, name)
                      for name in ('gate_usage.png', 'gate_heatmap.png')),
                    option='--out-dir')
    os.makedirs(out_dir, exist_ok=True)
    methods = sorted(gates)
    shares = usage(gates, args.threshold)
    means = np.stack([np.nanmean(gates[m], axis=0) for m in methods])

    fig, ax = plt.subplots(figsize=(4 + len(methods), 3.5))
    ax.bar(methods, [100 * shares[m] for m in methods], color='tab:blue')
    ax.set_ylabel(f'% of (image, block) with gate > {args.threshold}')
    ax.set_ylim(0, 100)
    ax.set_title(f'{args.title} PEFT usage'.strip())
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'gate_usage.png'), dpi=120)

    fig, ax = plt.subplots(figsize=(2 + 0.45 * means.shape[1], 1 + 0.6 *
                                    len(methods)))
    image = ax.imshow(means, vmin=0, vmax=1, cmap='viridis', aspect='auto')
    ax.set_yticks(range(len(methods)), methods)
    ax.set_xticks(range(means.shape[1]))
    ax.set_xlabel('block')
    ax.set_title(f'{args.title} mean gate value'.strip())
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'gate_heatmap.png'), dpi=120)

    images = next(iter(gates.values())).shape[0]
    print(f'{images} images, threshold {args.threshold}')
    print('| method | used (%) | ' + ' | '.join(
        f'b{i}' for i in range(means.shape[1])) + ' |')
    print('|---' * (means.shape[1] + 2) + '|')
    for m, row in zip(methods, means):
        print(f'| {m} | {100 * shares[m]:.1f} | ' +
              ' | '.join('-' if np.isnan(v) else f'{v:.2f}'
                         for v in row) + ' |')
    print(f'Figures written to {out_dir}')


if __name__ == '__main__':
    main()
