"""Each baseline method trains exactly the parameters it claims to."""
import pytest
import torch
from helpers import tiny_config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

HEAD_ALWAYS = {'decode_head.mask_tokens', 'decode_head.cls_embed'}
DECODER = {
    'decode_head.transformer', 'decode_head.output_upscaling',
    'decode_head.hypernet_mlp'
}
EXPECTED = {
    'frozen': HEAD_ALWAYS,
    'decoder_ft': HEAD_ALWAYS | DECODER,
    'full_ft': HEAD_ALWAYS | DECODER | {'backbone'},
}


def _group(name):
    parts = name.split('.')
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
    for name, param in model.named_parameters():
        changed = not torch.equal(param, before[name])
        assert changed == (name in trainable), name
