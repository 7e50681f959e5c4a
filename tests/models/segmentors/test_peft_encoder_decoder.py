"""PEFT losses reach the training loss and the log, under any decode head,
and are absent at inference."""
import pytest
import torch
from helpers import tiny_config
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_mopeft.datasets import generate_shapes


def _batch(size=64):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                          ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 2, (1, size, size)))
        samples.append(sample)
    return torch.randn(2, 3, size, size), samples


@pytest.mark.parametrize('config', [
    'configs/conv_lora/conv_lora_vitb_cryonuseg.py',
    'configs/mmseg_heads/fcnhead_vitb_cryonuseg.py',
])
def test_balance_loss_joins_the_losses_with_any_head(config, tmp_path):
    cfg = tiny_config(config, str(tmp_path), str(tmp_path))
    cfg.model.backbone.peft = dict(conv_lora=dict(rank=4, loss_weight=3.0))
    model = MODELS.build(cfg.model)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    balance = losses['peft.loss_conv_lora_balance']
    assert balance.requires_grad and balance.item() > 0
    # the loss is Conv-LoRA's, summed over blocks, times its weight
    model.train()
    torch.manual_seed(5)
    model.extract_feat(inputs)
    raw = [b.tuner.methods.conv_lora for b in model.backbone.blocks]
    assert all(m.loss_scale == pytest.approx(3e-2) for m in raw)
    model.backbone.pop_aux_losses()
    balance.backward()
    gates = [m.gate.w_gate.grad for m in raw]
    assert all(g is not None and g.abs().sum() > 0 for g in gates)
    model.eval()
    with torch.no_grad():
        model.predict(inputs, samples)
    assert model.backbone.pop_aux_losses() == {}


def test_plain_encoder_decoder_is_told_to_collect_the_losses(tmp_path):
    cfg = tiny_config('configs/conv_lora/conv_lora_vitb_cryonuseg.py',
                      str(tmp_path), str(tmp_path))
    cfg.model.type = 'EncoderDecoder'
    model = MODELS.build(cfg.model)
    inputs, samples = _batch()
    model.loss(inputs, samples)
    with pytest.raises(RuntimeError, match="PEFTEncoderDecoder"):
        model.loss(inputs, samples)


def test_balance_loss_in_runner_log(tmp_path, tiny_sam_ckpt):
    root = generate_shapes(str(tmp_path / 'data'),
                           splits=(('train', 4), ('val', 2)), size=64,
                           num_classes=2)
    cfg = tiny_config('configs/conv_lora/conv_lora_vitb_cryonuseg.py', root,
                      str(tmp_path / 'work'), tiny_sam_ckpt[0], max_iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    balance = hub.get_scalar('train/peft.loss_conv_lora_balance').current()
    total = hub.get_scalar('train/loss').current()
    decode = sum(
        hub.get_scalar(k).current() for k in hub.log_scalars
        if k.startswith('train/decode.loss'))
    assert balance > 0
    assert total == pytest.approx(decode + balance, rel=1e-4)
