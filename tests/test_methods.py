"""Each method's config trains exactly the parameters it claims to, and a
short training run works for every method."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO, tiny_config
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.models.peft import PEFT_METHODS, BlockContext

HEAD_ALWAYS = {'decode_head.mask_tokens', 'decode_head.cls_embed'}
DECODER = {
    'decode_head.transformer', 'decode_head.output_upscaling',
    'decode_head.hypernet_mlp', 'decode_head.iou_token'
}
BASELINES = {
    'frozen': HEAD_ALWAYS,
    'decoder_ft': HEAD_ALWAYS | DECODER,
    'full_ft': HEAD_ALWAYS | DECODER | {'backbone'},
}
METHODS = sorted(
    osp.basename(p)[:-len('_vitb.py')]
    for p in glob.glob(osp.join(REPO, 'configs/_base_/methods/*_vitb.py')))


def expected_groups(method):
    """What a method base trains: a baseline's set, or the decoder and head
    plus each configured PEFT method (its gates; frozen encoder parameters
    it declares, e.g. BitFit's biases)."""
    if method in BASELINES:
        return BASELINES[method]
    cfg = Config.fromfile(f'{REPO}/configs/_base_/methods/{method}_vitb.py')
    peft = dict(cfg.model.backbone.peft)
    gated = peft.pop('gated', False)
    groups = HEAD_ALWAYS | DECODER
    ctx = BlockContext(index=0, depth=1, dims=64, num_heads=2, mlp_dims=256,
                       window_size=4, grid=(4, 4))
    for name, options in peft.items():
        options = {k: v for k, v in options.items() if k != 'blocks'}
        method = PEFT_METHODS.module_dict[name](ctx, **options)
        if list(method.trained_backbone_params()):
            groups = groups | {'backbone'}
        if list(method.parameters()):
            groups = groups | {f'peft.{name}'}
    return groups | ({'peft.gates'} if gated else set())


def _group(name):
    """'decode_head.transformer', 'backbone', 'peft.lora', 'peft.gates'..."""
    parts = name.split('.')
    if 'tuner' in parts:
        i = parts.index('tuner')
        return 'peft.' + (parts[i + 2] if parts[i + 1] == 'methods' else
                          parts[i + 1])
    return parts[0] if parts[0] == 'backbone' else '.'.join(parts[:2])


def _batch(num_classes=2, size=64):
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        seg = torch.randint(0, num_classes, (1, size, size))
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=seg)
        samples.append(sample)
    return torch.randn(2, 3, size, size), samples


@pytest.mark.parametrize('method', METHODS)
def test_gradients_reach_exactly_the_trained_parameters(method, tmp_path):
    cfg = tiny_config(f'configs/{method}/{method}_vitb_cryonuseg.py',
                      str(tmp_path), str(tmp_path))
    model = MODELS.build(cfg.model)
    model.init_weights()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {_group(n) for n in trainable} == expected_groups(method)

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    optimizer.step()
    changed_groups = set()
    for name, param in model.named_parameters():
        changed = not torch.equal(param, before[name])
        if name in trainable:  # (experts a gate did not pick get no grad)
            if changed:
                changed_groups.add(_group(name))
        else:
            assert param.grad is None and not changed, name
    # zero-initialised parts (LoRA's B, the adapter's up) move first
    assert changed_groups == expected_groups(method)


@pytest.mark.parametrize('method', METHODS)
def test_short_cryonuseg_training_run(method, tmp_path, tiny_sam_ckpt):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 4), ('val', 2)), size=64,
        num_classes=2)
    cfg = tiny_config(f'configs/{method}/{method}_vitb_cryonuseg.py', root,
                      str(tmp_path / 'work'), tiny_sam_ckpt[0], max_iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    assert 0 <= runner.val_loop.run()['mIoU'] <= 100
