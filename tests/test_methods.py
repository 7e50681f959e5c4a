"""Each method's config trains exactly the parameters it claims to, and a
short training run works for every method."""
import pytest
import torch
from helpers import tiny_config
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_mopeft.datasets import generate_shapes

HEAD_ALWAYS = {'decode_head.mask_tokens', 'decode_head.cls_embed'}
DECODER = {
    'decode_head.transformer', 'decode_head.output_upscaling',
    'decode_head.hypernet_mlp'
}
PEFT_HEAD = HEAD_ALWAYS | DECODER
EXPECTED = {
    'frozen': HEAD_ALWAYS,
    'decoder_ft': HEAD_ALWAYS | DECODER,
    'full_ft': HEAD_ALWAYS | DECODER | {'backbone'},
    'lora': PEFT_HEAD | {'peft.lora'},
    'vpt': PEFT_HEAD | {'peft.prefix'},
    'vpt_deep': PEFT_HEAD | {'peft.prefix'},
    'adapter': PEFT_HEAD | {'peft.adapter'},
    'mopeft': PEFT_HEAD | {'peft.lora', 'peft.prefix', 'peft.adapter',
                           'peft.gates'},
}


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


@pytest.mark.parametrize('method', sorted(EXPECTED))
def test_gradients_reach_exactly_the_trained_parameters(method, tmp_path):
    cfg = tiny_config(f'configs/{method}/{method}_vitb_cryonuseg.py',
                      str(tmp_path), str(tmp_path))
    model = MODELS.build(cfg.model)
    model.init_weights()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {_group(n) for n in trainable} == EXPECTED[method]

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if k.startswith('decode.loss')).backward()
    optimizer.step()
    changed_groups = set()
    for name, param in model.named_parameters():
        changed = not torch.equal(param, before[name])
        if name in trainable:
            assert param.grad is not None, name  # autograd reached it
            if changed:
                changed_groups.add(_group(name))
        else:
            assert param.grad is None and not changed, name
    # zero-initialised parts (LoRA's B, the adapter's up) move first
    assert changed_groups == EXPECTED[method]


@pytest.mark.parametrize('method', sorted(EXPECTED))
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
