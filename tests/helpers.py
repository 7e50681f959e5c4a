"""Shrinking real configs to the tiny arch and generated data; running
the tools/ scripts; a loss on SAM's neck output that has gradients."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import uuid

import torch
from mmengine.config import Config

from mmseg_mopeft.datasets.mess import DATASET_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _shrink_pipeline(pipeline, size):
    for transform in pipeline:
        if transform.get('type') == 'TestTimeAug':
            for group in transform['transforms']:
                _shrink_pipeline(group, size)
        if 'scale' in transform:
            transform['scale'] = (size, size)
        if 'crop_size' in transform:
            transform['crop_size'] = (size, size)


def tiny_config(config: str,
                data_root: str,
                work_dir: str,
                checkpoint: str = None,
                size: int = 64,
                max_iters: int = 4,
                dataset_type: str = None) -> Config:
    """Load ``config`` and make it run in seconds on CPU: tiny SAM arch,
    ``size`` px inputs, generated data under ``data_root``, dense (not
    point-sampled, so deterministic) mask losses."""
    cfg = Config.fromfile(osp.join(REPO, config))
    init = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint \
        else None
    model = cfg.model
    if model.backbone.type == 'SAMViT':
        model.backbone.update(
            arch='tiny', img_size=size, window_size=4, init_cfg=init)
    if (model.get('decode_head') or {}).get('type') == 'SAMMaskDecoderHead':
        model.decode_head.update(num_points=0, init_cfg=init)
    cfg.sam_checkpoint = checkpoint  # what SAMCheckpointCheckHook compares
    model.data_preprocessor.size = (size, size)
    model.data_preprocessor.test_cfg = dict(size=(size, size))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(num_workers=0, persistent_workers=False)
        loader.batch_size = 2 if name == 'train_dataloader' else 1
        loader.dataset.data_root = data_root
        if dataset_type:
            loader.dataset.type = dataset_type
        if loader.dataset.type in DATASET_CLASSES.values() and not osp.isfile(
                osp.join(data_root, 'meta.json')):
            # generated data, not a prepare_mess.py output
            loader.dataset.check_prepared = False
        if name == 'test_dataloader':  # generated data has no test split
            loader.dataset.data_prefix = dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val')
        _shrink_pipeline(loader.dataset.pipeline, size)
    _shrink_pipeline(cfg.tta_pipeline, size)
    _shrink_pipeline(cfg.test_pipeline, size)  # mmseg's inference APIs'
    cfg.train_cfg.update(max_iters=max_iters, val_interval=max_iters)
    for scheduler in cfg.param_scheduler:
        scheduler.end = max_iters
    cfg.default_hooks.checkpoint.update(interval=2, save_best=None)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    # mmengine keys its logger and visualizer by experiment name, which
    # defaults to config + timestamp: two runners started in the same second
    # would share the first one's log file and save_dir.
    cfg.experiment_name = f'{osp.basename(config)}_{uuid.uuid4().hex[:8]}'
    cfg.randomness = dict(seed=0)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    return cfg


def load_tool(path: str, register: bool = False):
    """A script of the repository (``path``, e.g. 'tools/test.py') as a
    module, to call its functions in this process; ``register`` puts it in
    ``sys.modules`` under its file name (worker processes unpickle its
    functions by name)."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_tool(args, extra_env=None, **kwargs):
    """Run a command from the repo root on CPU; fail with its output."""
    env = dict(os.environ, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES='')
    env.update(extra_env or {})
    proc = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def train_until_interrupted(cfg, hooks=()):
    """Train ``cfg`` with extra ``hooks``; a hook may stop it early by
    raising KeyboardInterrupt (a simulated crash). Returns the runner."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    try:
        runner.train()
    except KeyboardInterrupt:
        pass
    return runner


def probe_loss(out: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A fixed random linear function of ``out``. SAM's neck ends in a
    LayerNorm2d, so at its initial weights the sum, and the mean of squares,
    of its output are constants, and their gradients are only rounding.
    """
    gen = torch.Generator().manual_seed(seed)
    probe = torch.randn(out.shape, generator=gen).to(out.device)
    return (out.float() * probe).sum() / out.numel()**0.5


def gate_record(work_dir, ext: str = 'npz') -> str:
    """The one ``gates.<ext>`` GateRecorderHook wrote into a run's log
    folder (``<work_dir>/<timestamp>/``)."""
    import glob
    found = glob.glob(osp.join(str(work_dir), '*', f'gates.{ext}'))
    assert len(found) == 1, found
    return found[0]
