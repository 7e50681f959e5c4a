"""Every config under configs/ parses and builds; mmseg heads over SAMViT."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS

CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def _built_configs():
    """Every hand-written config, and of the generated per-dataset families
    (kept in sync with their generators by the tests below) the CryoNuSeg
    member: the others differ only in dataset base and class count."""
    from mmseg_mopeft.datasets.mess import mess_dataset_types
    others = tuple(f'_{key}.py' for key in mess_dataset_types()
                   if key != 'cryonuseg')
    return [c for c in CONFIGS if not c.endswith(others)]


def _tiny(model_cfg):
    """Tiny arch at 64 px; configs with a neck keep ViT-B channels."""
    arch = 'vit-b' if 'neck' in model_cfg else 'tiny'
    model_cfg.backbone.update(arch=arch, img_size=64, init_cfg=None)
    if 'init_cfg' in (model_cfg.get('decode_head') or {}):
        model_cfg.decode_head.init_cfg = None
    if 'prompt_decoder' in model_cfg:  # PromptedSAM loads SAM's file at build
        model_cfg.prompt_decoder.checkpoint = None
    return model_cfg


@pytest.mark.parametrize('config', CONFIGS)
def test_config_parses_with_registered_types(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmseg'
    assert MODELS.get(cfg.model.type) is not None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert DATASETS.get(cfg[loader].dataset.type) is not None


@pytest.mark.parametrize('config', _built_configs())
def test_config_builds(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmseg'
    assert 'mmseg_mopeft' in cfg.custom_imports.imports
    model = MODELS.build(_tiny(cfg.model))
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out is not None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert DATASETS.get(cfg[loader].dataset.type) is not None


def test_vit_b_build_matches_sam_parameter_count():
    """One full-size build: the encoder has exactly segment_anything's
    ViT-B parameter count (89.7M)."""
    from mmseg_mopeft.testing import build_reference_sam
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/full_ft/full_ft_vitb_cryonuseg.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.decode_head.init_cfg = None
    model = MODELS.build(cfg.model)
    encoder = sum(p.numel() for p in model.backbone.parameters())
    reference = build_reference_sam('vit-b', img_size=1024, randomize=False)
    assert encoder == sum(
        p.numel() for p in reference.image_encoder.parameters())


@pytest.mark.parametrize('generator', ['mess', 'fair1m'])
def test_generated_configs_are_in_sync(generator):
    import subprocess
    import sys
    proc = subprocess.run([
        sys.executable, f'tools/misc/generate_{generator}_configs.py',
        '--check'
    ], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ', 0 differ' in proc.stdout
