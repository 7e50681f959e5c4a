"""`make demo`: fine-tune SAM with MoPEFT on a generated dataset, on CPU.

Generates the Shapes dataset (disks and squares), evaluates mIoU with mmseg's
IoUMetric before training, trains MoPEFT (gated LoRA, prefix tuning and
adapters in the frozen encoder, mask decoder fine-tuned), tests again while
recording the gates, and writes the prediction drawings, the gate-usage
figures (tools/analysis_tools/gate_usage.py) and the training curve (mmseg's
analyze_logs.py). Uses the official SAM ViT-B weights when they are present
under checkpoints/, random weights otherwise.
"""
import argparse
import os.path as osp
import subprocess
import sys
import time

import mmseg
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmseg_mopeft.datasets import generate_shapes  # noqa: E402
from mmseg_mopeft.engine import count_parameters  # noqa: E402

CONFIG = osp.join(REPO, 'configs/demo/mopeft_vitb_shapes-128.py')
GATE_USAGE = osp.join(REPO, 'tools/analysis_tools/gate_usage.py')
# mmseg ships its tools inside the wheel
ANALYZE_LOGS = osp.join(
    osp.dirname(mmseg.__file__), '.mim', 'tools', 'analysis_tools',
    'analyze_logs.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/shapes')
    parser.add_argument('--iters', type=int, help='override max_iters')
    parser.add_argument(
        '--amp', action='store_true',
        help='train with bf16 autocast (CPUAmpOptimWrapper on CPU)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def run(args):
    """Run a plotting tool; stop with its output when it fails."""
    proc = subprocess.run([sys.executable] + args, capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(f'{" ".join(args)} failed:\n{proc.stdout}{proc.stderr}')


def main():
    args = parse_args()
    start = time.time()
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        loader.dataset.data_root = args.data_root
    if not osp.isdir(osp.join(args.data_root, 'img_dir')):
        generate_shapes(args.data_root)
        print(f'Generated the Shapes dataset in {args.data_root}')
    if args.iters:
        cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = args.iters
        cfg.param_scheduler[0].end = args.iters

    cfg.randomness = dict(seed=args.seed)
    if args.amp:
        if cfg.optim_wrapper.type != 'OptimWrapper':
            sys.exit(f'--amp replaces OptimWrapper; {args.config} has '
                     f'{cfg.optim_wrapper.type}')
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper' \
            if get_device() == 'cpu' else 'AmpOptimWrapper'

    checkpoint = cfg.model.backbone.init_cfg.checkpoint
    if osp.isfile(checkpoint):
        print(f'Using the official SAM weights in {checkpoint}')
    else:
        print(f'No SAM checkpoint at {checkpoint}: starting from RANDOM '
              f'weights (run tools/download_sam_checkpoints.sh for the '
              f'official ones).')
        cfg.model.backbone.init_cfg = None
        cfg.model.decode_head.init_cfg = None
    # every output of this run goes to its own log folder
    # (work_dir/<timestamp>/, mmengine's default save_dir): a rerun
    # overwrites nothing
    cfg.default_hooks.visualization.update(draw=True, interval=1)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='GateRecorderHook')
    ]

    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()  # the weights training starts from
    trainable, total = count_parameters(runner.model)
    before = runner.val()['mIoU']
    runner.train()
    after = runner.test()['mIoU']

    out = runner.log_dir
    run([GATE_USAGE, osp.join(out, 'gates.npz'), '--title', 'Shapes (demo)'])
    # mmengine's json log, written by the visualizer's LocalVisBackend
    json_log = osp.join(out, 'vis_data', f'{runner.timestamp}.json')
    curve = osp.join(out, 'training_curve.png')
    run([
        ANALYZE_LOGS, json_log, '--keys', 'loss', '--backend', 'Agg',
        '--legend', 'loss', '--title', 'MoPEFT on Shapes', '--out', curve
    ])

    vis_dir = osp.join(out, 'vis_data', 'vis_image')
    print(f'\nMoPEFT trains {trainable:,} of {total:,} parameters '
          f'({100 * trainable / total:.2f}% of all parameters).')
    precision = ' (bf16 autocast)' if args.amp else ''
    print(f'mIoU on the val split: {before:.2f} before training, '
          f'{after:.2f} after {cfg.train_cfg.max_iters} iterations'
          f'{precision}.')
    print(f'Predictions (ground truth left, prediction right): {vis_dir}')
    print('Gate usage per method and block: ' + ', '.join(
        osp.join(out, name)
        for name in ('gate_usage.png', 'gate_heatmap.png')))
    print(f'Training curve (mmseg analyze_logs.py): {curve}')
    print(f'Done in {time.time() - start:.0f} s.')
    if after <= before:
        sys.exit('Training did not improve mIoU.')


if __name__ == '__main__':
    main()
