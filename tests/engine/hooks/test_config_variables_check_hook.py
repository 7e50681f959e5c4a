"""A documented top-level variable that a child config changes without the
keys its base config copied it into stops the run before it starts."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
from helpers import REPO
from mmengine.config import Config

from mmseg_mopeft.engine.hooks import ConfigVariablesCheckHook

PROMPTED = 'configs/prompted_sam/sam_vitb_random_point_cwfid.py'


def _check(cfg):
    ConfigVariablesCheckHook().before_run(SimpleNamespace(cfg=cfg))


def _child(tmp_path, body):
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{osp.join(REPO, PROMPTED)!r}]\n{body}\n')
    return Config.fromfile(str(path))


def test_a_child_prompt_seed_alone_is_refused(tmp_path):
    with pytest.raises(ValueError) as err:
        _check(_child(tmp_path, 'prompt_seed = 1'))
    message = str(err.value)
    assert 'prompt_seed=1' in message
    assert 'model.prompt_sampler.seed=0' in message
    assert 'randomness.seed=0' in message


def test_cfg_options_prompt_seed_alone_is_refused():
    cfg = Config.fromfile(osp.join(REPO, PROMPTED))
    cfg.merge_from_dict(dict(prompt_seed=3))
    with pytest.raises(ValueError, match='model.prompt_sampler.seed=0'):
        _check(cfg)


def test_every_copy_set_alike_passes(tmp_path):
    _check(_child(tmp_path, 'prompt_seed = 1\nmodel = dict(prompt_sampler='
                  'dict(seed=1))\nrandomness = dict(seed=1)'))


def test_keys_a_config_does_not_hold_are_skipped():
    _check(Config(dict(prompt_seed=1, model=dict(prompt_sampler=dict(seed=1)),
                       randomness=dict(deterministic=False))))


def test_every_shipped_config_passes_and_runs_the_hook():
    configs = glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                        recursive=True)
    configs = [c for c in configs if '_base_' not in c]
    assert len(configs) > 500
    for path in configs:
        cfg = Config.fromfile(path)
        assert any(h.type == 'ConfigVariablesCheckHook'
                   for h in cfg.custom_hooks), path
        _check(cfg)
