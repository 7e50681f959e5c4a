"""Training saves small PEFT checkpoints; every load path takes them."""
import copy
import hashlib
import os.path as osp
import sys

import pytest
import torch
from helpers import run_tool, tiny_config, train_until_interrupted
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.apis import MMSegInferencer, init_model

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.models.utils.peft_checkpoint import RECORD_KEY

MOPEFT = 'configs/mopeft/mopeft_vitb_cryonuseg.py'
RECORDS = {'backbone.' + RECORD_KEY, 'decode_head.' + RECORD_KEY}


@pytest.fixture(scope='module')
def cryo_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'cryonuseg')
    return generate_shapes(
        root, splits=(('train', 6), ('val', 2)), size=64, num_classes=2)


def _config(root, work_dir, base):
    """Two iterations, a checkpoint after each, no validation."""
    cfg = tiny_config(MOPEFT, root, work_dir, base, max_iters=2)
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint.interval = 1
    return cfg


class _StopAfterFirstIteration(Hook):
    priority = 'LOWEST'  # after the checkpoint hook has saved

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        raise KeyboardInterrupt


@pytest.fixture(scope='module')
def mopeft_run(tmp_path_factory, cryo_root, tiny_sam_ckpt):
    """An uninterrupted two-iteration MoPEFT run."""
    work = str(tmp_path_factory.mktemp('mopeft'))
    cfg = _config(cryo_root, work, tiny_sam_ckpt[0])
    return cfg, train_until_interrupted(copy.deepcopy(cfg))


def test_checkpoint_holds_what_the_run_trains(mopeft_run, tiny_sam_ckpt):
    cfg, runner = mopeft_run
    ckpt = torch.load(osp.join(cfg.work_dir, 'iter_2.pth'))
    model = runner.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(ckpt['state_dict']) == trainable | RECORDS
    own = model.state_dict()
    for key in trainable:
        assert torch.equal(ckpt['state_dict'][key], own[key]), key
    base = tiny_sam_ckpt[0]
    md5 = hashlib.md5(open(base, 'rb').read()).hexdigest()
    assert ckpt['meta']['peft_base'] == dict(path=base, md5=md5)
    assert ckpt['optimizer']['state'] and ckpt['param_schedulers']


def test_size_follows_the_trained_share(mopeft_run, tmp_path):
    """At most 1.1 x (trainable / all) of a full fine-tuning checkpoint of
    the same model: every weight, with AdamW state for every weight."""
    cfg, runner = mopeft_run
    small_path = osp.join(cfg.work_dir, 'iter_2.pth')
    full = torch.load(small_path)
    params = list(runner.model.parameters())
    full['state_dict'] = runner.model.state_dict()
    step = next(iter(full['optimizer']['state'].values()))['step']
    full['optimizer']['state'] = {
        i: dict(step=step.clone(), exp_avg=torch.zeros_like(p),
                exp_avg_sq=torch.zeros_like(p))
        for i, p in enumerate(params)
    }
    torch.save(full, tmp_path / 'full.pth')
    trainable = sum(p.numel() for p in params if p.requires_grad)
    share = trainable / sum(p.numel() for p in params)
    small = osp.getsize(small_path)
    whole = osp.getsize(tmp_path / 'full.pth')
    assert small <= 1.1 * share * whole, (small, whole, share)


def test_resume_from_small_checkpoint_is_bit_exact(mopeft_run, tmp_path,
                                                   cryo_root, tiny_sam_ckpt):
    cfg, straight = mopeft_run
    work = str(tmp_path / 'b')
    train_until_interrupted(
        _config(cryo_root, work, tiny_sam_ckpt[0]),
        hooks=[_StopAfterFirstIteration()])
    assert osp.isfile(osp.join(work, 'iter_1.pth'))
    assert not osp.isfile(osp.join(work, 'iter_2.pth'))
    resumed_cfg = _config(cryo_root, work, tiny_sam_ckpt[0])
    resumed_cfg.resume = True
    resumed = train_until_interrupted(resumed_cfg)
    assert resumed.iter == straight.iter == 2
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    opt_a = straight.optim_wrapper.optimizer.state_dict()
    opt_b = resumed.optim_wrapper.optimizer.state_dict()
    assert opt_a['param_groups'] == opt_b['param_groups']
    for index, state in opt_a['state'].items():
        for name, value in state.items():
            assert torch.equal(value, opt_b['state'][index][name]), (index,
                                                                     name)


def _assert_same_weights(model, reference):
    own = reference.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value.cpu(), own[key].cpu()), key


def test_load_from_init_model_and_inferencer_rebuild_the_model(mopeft_run):
    cfg, runner = mopeft_run
    ckpt = osp.join(cfg.work_dir, 'iter_2.pth')
    # what tools/test.py does, with the default CheckpointKeysCheckHook
    test_cfg = copy.deepcopy(cfg)
    test_cfg.load_from = ckpt
    tester = Runner.from_cfg(test_cfg)
    tester.load_or_resume()
    _assert_same_weights(tester.model, runner.model)
    model = init_model(copy.deepcopy(cfg), ckpt, device='cpu')
    _assert_same_weights(model, runner.model)
    inferencer = MMSegInferencer(
        model=copy.deepcopy(cfg), weights=ckpt, device='cpu')
    _assert_same_weights(inferencer.model, runner.model)


@pytest.mark.slow
def test_tools_test_takes_a_small_checkpoint(mopeft_run, tmp_path):
    cfg, runner = mopeft_run
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    proc = run_tool([
        sys.executable, 'tools/test.py', config,
        osp.join(cfg.work_dir, 'iter_2.pth'), '--work-dir',
        str(tmp_path / 'test')
    ])
    assert 'mIoU' in proc.stdout + proc.stderr
