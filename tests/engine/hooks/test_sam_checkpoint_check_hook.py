"""A config whose sam_checkpoint is not the SAM file its model loads stops
before any weight loads: a child config's sam_checkpoint never reaches the
init_cfg its base config filled in."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
from helpers import REPO
from mmengine.config import Config

from mmseg_mopeft.engine.hooks import SAMCheckpointCheckHook
from mmseg_mopeft.engine.hooks.sam_checkpoint_check_hook import sam_files

OFFICIAL = 'checkpoints/sam_vit_b_01ec64.pth'


def _child(tmp_path, base, body):
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{osp.join(REPO, base)!r}]\n{body}\n')
    return Config.fromfile(str(path))


def _check(cfg):
    SAMCheckpointCheckHook().before_run(SimpleNamespace(cfg=cfg))


@pytest.mark.parametrize('base,keys', [
    ('configs/mopeft/mopeft_vitb_cwfid.py',
     ['model.backbone.init_cfg.checkpoint',
      'model.decode_head.init_cfg.checkpoint']),
    ('configs/prompted_sam/hybrid/adapter_vitb_suim.py',
     ['model.backbone.init_cfg.checkpoint',
      'model.decode_head.init_cfg.checkpoint',
      'model.prompt_decoder.checkpoint']),
    ('configs/fair1m/lora_vitb_fair1m.py',
     ['model.backbone.init_cfg.checkpoint',
      'model.decode_head.init_cfg.checkpoint']),
])
def test_a_child_sam_checkpoint_alone_is_refused(tmp_path, base, keys):
    cfg = _child(tmp_path, base, "sam_checkpoint = '/data/medsam_vit_b.pth'")
    with pytest.raises(ValueError) as err:
        _check(cfg)
    message = str(err.value)
    assert "sam_checkpoint='/data/medsam_vit_b.pth'" in message
    for key in keys:
        assert f'{key}={OFFICIAL!r}' in message


def test_cfg_options_alone_is_refused():
    cfg = Config.fromfile(osp.join(REPO, 'configs/lora/lora_vitb_cwfid.py'))
    cfg.merge_from_dict(dict(sam_checkpoint='/data/other.pth'))
    with pytest.raises(ValueError, match='model.backbone.init_cfg'):
        _check(cfg)


def test_every_key_set_alike_or_no_sam_checkpoint_passes(tmp_path):
    other = '/data/medsam_vit_b.pth'
    cfg = _child(
        tmp_path, 'configs/prompted_sam/hybrid/adapter_vitb_suim.py',
        f'sam_checkpoint = {other!r}\n'
        f'model = dict(backbone=dict(init_cfg=dict(checkpoint={other!r})),'
        f' decode_head=dict(init_cfg=dict(checkpoint={other!r})),'
        f' prompt_decoder=dict(checkpoint={other!r}))')
    _check(cfg)
    cfg.model.decode_head.init_cfg.checkpoint = OFFICIAL
    with pytest.raises(ValueError, match='model.decode_head.init_cfg'):
        _check(cfg)
    cfg.sam_checkpoint = None  # different files on purpose
    _check(cfg)


def test_only_our_modules_init_cfg_counts():
    """A stock mmseg head's own pretrained file is not a SAM file."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/mmseg_heads/uperhead_vitb_cryonuseg.py'))
    cfg.model.decode_head.init_cfg = dict(type='Pretrained',
                                          checkpoint='/data/uper.pth')
    assert [k for k, _ in sam_files(cfg.model)] == [
        'model.backbone.init_cfg.checkpoint'
    ]
    _check(cfg)


def test_our_modules_inside_lists_count():
    init = dict(type='Pretrained', checkpoint='official.pth')
    mine = dict(init, checkpoint='mine.pth')
    model = dict(
        type='EncoderDecoder', backbone=dict(type='SAMViT', init_cfg=mine),
        decode_head=dict(type='SAMMaskDecoderHead', init_cfg=mine),
        auxiliary_head=[dict(type='SAMMaskDecoderHead', init_cfg=init)])
    assert ('model.auxiliary_head[0].init_cfg.checkpoint',
            'official.pth') in list(sam_files(model))
    with pytest.raises(ValueError, match=r'auxiliary_head\[0\]'):
        _check(Config(dict(sam_checkpoint='mine.pth', model=model)))


def test_every_shipped_config_agrees_and_checks():
    """Each config loads the file its sam_checkpoint names, and runs the
    check (default_runtime's custom_hooks)."""
    configs = [
        path for path in glob.glob(osp.join(REPO, 'configs/**/*.py'),
                                   recursive=True) if '_base_' not in path
    ]
    checked = 0
    for path in configs:
        cfg = Config.fromfile(path)
        if 'model' not in cfg:
            continue
        hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'SAMCheckpointCheckHook' in hooks, path
        assert list(sam_files(cfg.model)), path
        _check(cfg)
        checked += 1
    assert checked > 600


@pytest.mark.usefixtures('unformatted_config_text')
def test_a_run_stops_before_loading_the_other_file(tmp_path, cryo_root,
                                                   tiny_sam_ckpt):
    from helpers import tiny_config
    from mmengine.runner import Runner
    cfg = tiny_config('configs/lora/lora_vitb_cryonuseg.py', cryo_root,
                      str(tmp_path), checkpoint=tiny_sam_ckpt[0])
    cfg.sam_checkpoint = str(tmp_path / 'medsam_tiny.pth')
    runner = Runner.from_cfg(cfg)
    loaded = []
    runner.model.backbone.load_sam_checkpoint = lambda *a, **k: loaded.append(
        a)
    with pytest.raises(ValueError, match='medsam_tiny.pth'):
        runner.train()
    assert loaded == [] and runner.iter == 0
