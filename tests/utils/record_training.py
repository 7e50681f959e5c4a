"""Train a dumped config (as tools/train.py does) and save, from rank 0,
the gradients of the first optimizer step and the final weights.

Usage: record_training.py CONFIG OUT [--launcher pytorch]
"""
import argparse
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg_mopeft.utils import setup_cpu_distributed, teardown_distributed


class RecordFirstGradients(Hook):
    """Copies every trainable parameter's gradient (DDP-averaged) right
    before the first optimizer step."""

    def __init__(self):
        self.grads = self.initial = None

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        names = {id(p): n for n, p in model.named_parameters()}
        self.initial = {
            k: v.detach().clone()
            for k, v in model.state_dict().items()
        }

        def record(optimizer, args, kwargs):
            if self.grads is None:
                self.grads = {
                    names[id(p)]: p.grad.detach().clone()
                    for group in optimizer.param_groups
                    for p in group['params'] if p.grad is not None
                }

        runner.optim_wrapper.optimizer.register_step_pre_hook(record)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    parser.add_argument('out')
    parser.add_argument('--launcher', default='none')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    recorder = RecordFirstGradients()
    runner.register_hook(recorder)
    runner.train()
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    rank = dist.get_rank() if dist.is_initialized() else 0
    if rank == 0:
        torch.save(
            dict(
                grads=recorder.grads,
                initial=recorder.initial,
                weights=model.state_dict()), args.out)
    teardown_distributed()


if __name__ == '__main__':
    os.environ.setdefault('LOCAL_RANK', '0')
    main()
