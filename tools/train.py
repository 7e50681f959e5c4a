"""Train a segmentor: same arguments as mmseg's tools/train.py."""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_mopeft.engine.hooks import set_checkpoint_keys_check
from mmseg_mopeft.utils import setup_cpu_distributed, teardown_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='PATH',
        help='resume from PATH, or without PATH from the newest readable '
        'checkpoint of the last run in the work_dir (the one last_checkpoint '
        'names, or an earlier one of that run if it is broken); when there '
        'is none, start from the config\'s load_from, else from scratch')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='accept a load_from checkpoint that leaves model weights '
        'missing or unexpected (warn instead of failing)')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (fp16 on GPUs, '
        'bf16 on CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'model.backbone.arch=vit-l')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type '
                f'is `OptimWrapper` but got {optim_wrapper}.')
            if get_device() == 'cpu':  # bf16 autocast, no loss scaling
                cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
            else:
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        # CheckpointRecoveryHook: the work dir's newest readable checkpoint,
        # else load_from (weights only), else from scratch
        cfg.resume = 'auto'
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(h.get('type') in ('CheckpointRecoveryHook',
                                     'mmseg.CheckpointRecoveryHook')
                   for h in hooks):
            cfg.custom_hooks = hooks + [dict(type='CheckpointRecoveryHook')]
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    set_checkpoint_keys_check(cfg, args.allow_partial)
    setup_cpu_distributed(cfg, args.launcher)

    runner = Runner.from_cfg(cfg)
    runner.train()
    del runner  # its DDP model holds the process group
    teardown_distributed()


if __name__ == '__main__':
    main()
