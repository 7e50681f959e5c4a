"""Layer-wise LR decay for full fine-tuning (mmpretrain's constructor on
SAMViT.get_layer_depth): the decay factor is applied per block."""
import os.path as osp

import pytest
from helpers import REPO
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

pytest.importorskip('mmpretrain')

CONFIG = 'configs/full_ft/full_ft_layer-decay_vitb_cryonuseg.py'


def _expected_scale(name, depth, rate):
    """Independent of the constructor: what the config's comment says."""
    if name.startswith(('backbone.patch_embed', 'backbone.pos_embed')):
        return rate**(depth + 1)
    if name.startswith('backbone.blocks.'):
        return rate**(depth - int(name.split('.')[2]))
    return 1.0  # neck, decode head


def test_decay_factor_per_block():
    import mmseg_mopeft.engine.optimizers.layer_decay_constructor  # noqa
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    cfg.model.backbone.update(arch='tiny', img_size=64, init_cfg=None)
    cfg.model.decode_head.init_cfg = None
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    assert rate == 0.75
    groups = {
        g['param_name']: g
        for g in wrapper.optimizer.param_groups
    }
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == trainable
    blocks = set()
    for name, group in groups.items():
        expected = base_lr * _expected_scale(name, 4, rate)  # tiny: 4 blocks
        assert group['lr'] == pytest.approx(expected, rel=1e-9), name
        if name.startswith('backbone.blocks.'):
            blocks.add(int(name.split('.')[2]))
    assert blocks == {0, 1, 2, 3}
    assert groups['backbone.blocks.3.attn.qkv.weight']['lr'] == \
        pytest.approx(base_lr * 0.75)
    assert groups['backbone.blocks.0.attn.qkv.weight']['lr'] == \
        pytest.approx(base_lr * 0.75**4)


def test_a_backbone_without_layer_depth_is_named():
    from torch import nn

    from mmseg_mopeft.engine.optimizers.layer_decay_constructor import \
        SegLayerDecayOptimWrapperConstructor
    model = nn.Module()
    model.backbone = nn.Linear(2, 2)
    constructor = SegLayerDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        dict(layer_decay_rate=0.5))
    with pytest.raises(TypeError, match='Module needs a backbone with '
                       'get_layer_depth'):
        constructor(model)
