"""`make demo`: fine-tune SAM on a generated dataset on CPU in minutes.

Generates the Shapes dataset (disks and squares), evaluates mIoU with mmseg's
IoUMetric before training, trains, evaluates again and writes prediction
visualisations. Uses the official SAM ViT-B weights when they are present
under checkpoints/, random weights otherwise.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmseg_mopeft.datasets import generate_shapes  # noqa: E402

CONFIG = osp.join(REPO, 'configs/demo/decoder_ft_vitb_shapes-256.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/shapes')
    parser.add_argument('--iters', type=int, help='override max_iters')
    return parser.parse_args()


def main():
    args = parse_args()
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

    checkpoint = cfg.model.backbone.init_cfg.checkpoint
    if osp.isfile(checkpoint):
        print(f'Using the official SAM weights in {checkpoint}')
    else:
        print(f'No SAM checkpoint at {checkpoint}: starting from RANDOM '
              f'weights (run tools/download_sam_checkpoints.sh for the '
              f'official ones).')
        cfg.model.backbone.init_cfg = None
        cfg.model.decode_head.init_cfg = None
    cfg.default_hooks.visualization.update(draw=True, interval=1)
    cfg.visualizer.save_dir = osp.join(args.work_dir, 'vis')

    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()  # the weights training starts from
    before = runner.val()['mIoU']
    runner.train()
    after = runner.test()['mIoU']
    vis_dir = osp.join(args.work_dir, 'vis', 'vis_data', 'vis_image')
    print(f'\nmIoU on the val split: {before:.2f} before training, '
          f'{after:.2f} after {cfg.train_cfg.max_iters} iterations.')
    print(f'Predictions (ground truth left, prediction right): {vis_dir}')
    if after <= before:
        sys.exit('Training did not improve mIoU.')


if __name__ == '__main__':
    main()
