"""Resume is bit-exact with point-sampled losses and random augmentation,
with and without data-loader workers."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from helpers import tiny_config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.engine.hooks import IterationSeedHook, iteration_seed_hook

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


@pytest.fixture(scope='module')
def two_class_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'cryonuseg')
    return generate_shapes(
        root, splits=(('train', 6), ('val', 1)), size=64, num_classes=2)


class _StopAfterTwo(Hook):
    priority = 'LOWEST'  # after the checkpoint hook has saved iter_2.pth

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == 2:
            raise KeyboardInterrupt


def _config(root, work_dir, ckpt, num_workers):
    cfg = tiny_config(CONFIG, root, work_dir, ckpt)
    cfg.model.decode_head.pop('num_points')  # the default: sampled points
    cfg.train_dataloader.update(
        num_workers=num_workers, persistent_workers=num_workers > 0)
    cfg.train_cfg.val_begin = 10**6  # validation is not what we compare
    return cfg


def _run(cfg, stop_after_two=False):
    runner = Runner.from_cfg(cfg)
    if stop_after_two:
        runner.register_hook(_StopAfterTwo())
    try:
        runner.train()
    except KeyboardInterrupt:
        pass
    return runner


def test_default_runtime_uses_the_hook_and_seeded_sampler(two_class_root):
    cfg = tiny_config(CONFIG, two_class_root, 'unused')
    assert dict(type='IterationSeedHook') in cfg.custom_hooks
    assert cfg.train_dataloader.sampler.type == 'SeededInfiniteSampler'
    assert cfg.model.decode_head.get('num_points', None) == 0  # helpers'
    assert IterationSeedHook.priority == 'HIGHEST'


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, two_class_root, tiny_sam_ckpt):
    """4 iterations in one go, loading data without workers."""
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    runner = _run(_config(two_class_root, work_dir, tiny_sam_ckpt[0], 0))
    assert runner.iter == 4
    assert runner.model.decode_head.num_points > 0  # sampled points
    return runner


@pytest.mark.parametrize('num_workers', [0, 2])
def test_resume_is_bit_exact(tmp_path, two_class_root, tiny_sam_ckpt,
                             uninterrupted, num_workers):
    """2 iterations, stop, resume 2 more: the same weights and optimizer
    state, bit for bit, as 4 in one go (which loaded without workers, so
    workers change nothing either)."""
    ckpt = tiny_sam_ckpt[0]
    _run(
        _config(two_class_root, str(tmp_path), ckpt, num_workers),
        stop_after_two=True)
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert not osp.isfile(tmp_path / 'iter_4.pth')
    cfg = _config(two_class_root, str(tmp_path), ckpt, num_workers)
    cfg.resume = True
    resumed = _run(cfg)
    assert resumed.iter == 4

    weights_a = uninterrupted.model.state_dict()
    weights_b = resumed.model.state_dict()
    assert weights_a.keys() == weights_b.keys()
    for name, value in weights_a.items():
        assert torch.equal(value, weights_b[name]), name
    opt_a = uninterrupted.optim_wrapper.optimizer.state_dict()
    opt_b = resumed.optim_wrapper.optimizer.state_dict()
    assert opt_a['param_groups'] == opt_b['param_groups']
    assert opt_a['state'].keys() == opt_b['state'].keys()
    assert len(opt_a['state']) > 0
    for key, state in opt_a['state'].items():
        for name, value in state.items():
            assert torch.equal(value, opt_b['state'][key][name]), (key, name)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_resume_without_a_seed_is_bit_exact(tmp_path, two_class_root,
                                            tiny_sam_ckpt, num_workers):
    """The shipped configs set no seed: the run draws one, the resumed run
    draws another before mmengine restores the checkpoint's. Data order and
    augmentation must follow the checkpoint's seed: the result equals an
    uninterrupted run given that seed."""
    ckpt, work = tiny_sam_ckpt[0], str(tmp_path / 'b')

    def config(work_dir, seed):
        cfg = _config(two_class_root, work_dir, ckpt, num_workers)
        cfg.randomness = dict(seed=seed)
        return cfg

    _run(config(work, None), stop_after_two=True)
    seed = torch.load(osp.join(work, 'iter_2.pth'))['meta']['seed']
    cfg = config(work, None)
    cfg.resume = True
    resumed = _run(cfg)
    assert resumed.iter == 4 and resumed.seed == seed
    assert resumed.train_dataloader.sampler.seed == seed
    straight = _run(config(str(tmp_path / 'a'), seed))
    weights = resumed.model.state_dict()
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, weights[name]), name


def _draw(monkeypatch, rank, it):
    monkeypatch.setattr(iteration_seed_hook, 'get_rank', lambda: rank)
    IterationSeedHook().before_train_iter(SimpleNamespace(seed=7, iter=it),
                                          0)
    return torch.rand(4)


def test_ranks_draw_different_streams(monkeypatch):
    assert torch.equal(_draw(monkeypatch, 1, 3), _draw(monkeypatch, 1, 3))
    assert not torch.equal(_draw(monkeypatch, 0, 3), _draw(monkeypatch, 1, 3))
    assert not torch.equal(_draw(monkeypatch, 1, 3), _draw(monkeypatch, 1, 4))
