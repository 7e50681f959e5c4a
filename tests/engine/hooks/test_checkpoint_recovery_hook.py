"""A crash while a checkpoint is written leaves no truncated file under its
name; --resume names a broken newest checkpoint and falls back."""
import glob
import os.path as osp
import resource
import shutil
import signal
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from helpers import REPO, load_tool, run_tool, tiny_config
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, IterBasedTrainLoop, Runner

from mmseg_mopeft.engine.checkpoint_io import CheckpointFileError
from mmseg_mopeft.engine.hooks import CheckpointRecoveryHook
from mmseg_mopeft.testing import logged_messages

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


pytestmark = pytest.mark.usefixtures('unformatted_config_text')


@pytest.fixture(scope='module')
def run_to_1(tmp_path_factory, cryo_root):
    """A work dir holding iter_1.pth, a whole model (no base file)."""
    work = str(tmp_path_factory.mktemp('run'))
    cfg = tiny_config(CONFIG, cryo_root, work, max_iters=1)
    cfg.default_hooks.checkpoint.interval = 1
    Runner.from_cfg(cfg).train()
    return osp.join(work, 'iter_1.pth')


def _config(work, cryo_root, resume=False):
    cfg = tiny_config(CONFIG, cryo_root, str(work), max_iters=2)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.resume = resume
    return cfg


class _DiskFull(Hook):
    """Once training starts, files may grow to ``limit`` bytes only
    (RLIMIT_FSIZE): checkpoint writes fail part-way, as on a full disk."""
    priority = 'LOWEST'

    def __init__(self, limit):
        self.limit = limit

    def before_train(self, runner):
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (self.limit, resource.RLIM_INFINITY))


class _StopBeforeTraining(Hook):
    """Ends ``train()`` once the checkpoint to resume is loaded."""

    def before_train(self, runner):
        raise KeyboardInterrupt


def _until_training(runner):
    runner.register_hook(_StopBeforeTraining())
    try:
        runner.train()
    except KeyboardInterrupt:
        pass


def _logged(fn):
    with logged_messages() as messages:
        result = fn()
    return result, '\n'.join(messages)


def test_failed_checkpoint_write_leaves_the_old_file(tmp_path, cryo_root,
                                                     run_to_1):
    """Writing iter_1.pth over an older iter_1.pth fails part-way."""
    old = open(run_to_1, 'rb').read()
    shutil.copy(run_to_1, tmp_path / 'iter_1.pth')
    runner = Runner.from_cfg(_config(tmp_path, cryo_root))
    runner.register_hook(_DiskFull(limit=len(old) // 2))
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with pytest.raises(OSError, match='File too large'):
            runner.train()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert open(tmp_path / 'iter_1.pth', 'rb').read() == old
    assert not glob.glob(str(tmp_path / '.*.tmp'))


def test_resume_falls_back_past_a_truncated_newest_checkpoint(
        tmp_path, cryo_root, run_to_1):
    shutil.copy(run_to_1, tmp_path / 'iter_1.pth')
    data = open(run_to_1, 'rb').read()
    broken = str(tmp_path / 'iter_2.pth')
    with open(broken, 'wb') as f:
        f.write(data[:len(data) // 3])
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(broken)
    runner = Runner.from_cfg(_config(tmp_path, cryo_root, resume=True))
    _, log = _logged(lambda: _until_training(runner))
    assert f'skipping unreadable checkpoint: Checkpoint {broken}' in log
    assert 'truncated' in log
    assert ('falling back to the previous complete one, '
            f'{tmp_path / "iter_1.pth"}') in log
    assert runner.iter == 1  # resumed


def test_resume_in_an_empty_work_dir_starts_from_scratch(tmp_path,
                                                         cryo_root):
    runner = Runner.from_cfg(_config(tmp_path, cryo_root, resume=True))
    _, log = _logged(lambda: _until_training(runner))
    assert f'no checkpoint in {tmp_path}; starting from scratch' in log
    assert 'Auto resumed' not in log and runner.iter == 0


def test_resume_when_every_checkpoint_is_broken(tmp_path, cryo_root):
    with open(tmp_path / 'iter_2.pth', 'wb') as f:
        f.write(b'PK\x03\x04 cut')
    runner = Runner.from_cfg(_config(tmp_path, cryo_root, resume=True))
    with pytest.raises(CheckpointFileError, match='none of the checkpoints'):
        _until_training(runner)


@pytest.mark.slow  # a tools/ process: ~15 s
def test_tools_train_resume_path_names_a_truncated_file(tmp_path, cryo_root,
                                                        run_to_1):
    cfg, complete = _config(tmp_path, cryo_root), run_to_1
    cut = str(tmp_path / 'cut.pth')
    with open(complete, 'rb') as src, open(cut, 'wb') as dst:
        dst.write(src.read(1000))
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    with pytest.raises(AssertionError) as err:
        run_tool([
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'), config, '--resume', cut,
            '--work-dir',
            str(tmp_path / 'work')
        ])
    assert f'Checkpoint {cut} (1,000 bytes) cannot be read' in str(err.value)


def test_resume_ignores_a_newer_checkpoint_of_an_earlier_run(
        tmp_path, cryo_root, run_to_1):
    """last_checkpoint names a truncated iter_2.pth; iter_3.pth, complete,
    is left by an earlier run: the fallback is this run's iter_1.pth."""
    shutil.copy(run_to_1, tmp_path / 'iter_1.pth')
    stale = torch.load(run_to_1, weights_only=False)
    stale['meta']['iter'] = 3
    torch.save(stale, str(tmp_path / 'iter_3.pth'))
    data = open(run_to_1, 'rb').read()
    with open(tmp_path / 'iter_2.pth', 'wb') as f:
        f.write(data[:len(data) // 3])
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(str(tmp_path / 'iter_2.pth'))
    runner = Runner.from_cfg(_config(tmp_path, cryo_root, resume=True))
    _, log = _logged(lambda: _until_training(runner))
    assert f'resuming from {tmp_path / "iter_1.pth"}' in log
    assert 'iter_3' not in log and runner.iter == 1


@pytest.mark.parametrize('with_checkpoint', [False, True])
def test_tools_train_resume_falls_back_to_load_from(
        tmp_path, cryo_root, run_to_1, monkeypatch, with_checkpoint):
    """--resume without PATH: the work dir's checkpoint, else the config's
    load_from (weights only), as mmengine's resume=True does."""
    weights = torch.load(run_to_1, weights_only=False)['state_dict']
    name = next(k for k, v in weights.items() if v.is_floating_point())
    pretrained = dict(state_dict={k: v + 1 if k == name else v
                                  for k, v in weights.items()}, meta={})
    torch.save(pretrained, str(tmp_path / 'pretrained.pth'))
    work = tmp_path / 'work'
    if with_checkpoint:
        work.mkdir()
        shutil.copy(run_to_1, work / 'iter_1.pth')
    cfg = _config(work, cryo_root)
    cfg.load_from = str(tmp_path / 'pretrained.pth')
    cfg.dump(str(tmp_path / 'cfg.py'))

    seen = {}

    def run(loop):  # stops once the checkpoint is loaded
        seen['iter'] = loop.iter
        seen['value'] = loop.runner.model.state_dict()[name].clone()
        return loop.runner.model

    monkeypatch.setattr(IterBasedTrainLoop, 'run', run)
    monkeypatch.setattr(sys, 'argv', [
        'train.py', str(tmp_path / 'cfg.py'), '--resume', '--work-dir',
        str(work)
    ])
    load_tool('tools/train.py').main()
    expected = (weights if with_checkpoint else pretrained['state_dict'])
    assert seen['iter'] == (1 if with_checkpoint else 0)
    assert torch.equal(seen['value'], expected[name])


class _Loop(BaseLoop):
    def run(self):
        pass


def _runner(sampler_seed, runner_seed=7):
    sampler = SimpleNamespace(seed=sampler_seed, reseed=mock.Mock())
    loop = _Loop.__new__(_Loop)
    loop.dataloader = SimpleNamespace(sampler=sampler)
    return SimpleNamespace(
        hooks=[], _train_loop=loop, train_loop=loop, seed=runner_seed,
        train_dataloader=SimpleNamespace(sampler=sampler), _resume=False,
        _load_from=None, logger=mock.Mock()), sampler


def _resume_with_seed(runner, seed):
    hook = CheckpointRecoveryHook()
    hook.before_run(runner)
    runner.seed = seed  # what load_or_resume restores from the checkpoint
    hook.before_train(runner)


def test_sampler_following_the_runner_seed_is_reseeded():
    runner, sampler = _runner(sampler_seed=7)
    _resume_with_seed(runner, 99)
    sampler.reseed.assert_called_once_with(99)


def test_sampler_with_its_own_seed_is_left_alone():
    runner, sampler = _runner(sampler_seed=123)
    _resume_with_seed(runner, 99)
    sampler.reseed.assert_not_called()
