"""Conv-LoRA's arithmetic, gate and balance loss against independent
computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import norm

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.peft import BlockContext, ConvLoRA
from mmseg_mopeft.models.peft.conv_lora import NoisyTop1Gate


def conv_lora(window_size=4, **kwargs):
    torch.manual_seed(0)
    ctx = BlockContext(index=0, depth=1, dims=16, num_heads=2, mlp_dims=64,
                       window_size=window_size, grid=(8, 8))
    module = ConvLoRA(ctx, rank=4, alpha=8, experts=3, **kwargs).eval()
    with torch.no_grad():
        module.lora_B.normal_()
        module.gate.w_gate.normal_()
        for expert in module.experts:
            expert[0].bias.normal_(0, 0.1)
    return module


def reference_map(module, m):
    """One (r, h, w) bottleneck map through the chosen expert, by hand."""
    e = int((m.mean(dim=(1, 2)) @ module.gate.w_gate).argmax())
    y = m[None]
    if e:
        y = F.interpolate(y, scale_factor=e + 1, mode='bicubic',
                          align_corners=False)
    conv = module.experts[e][0]
    y = F.gelu(F.conv2d(y, conv.weight, conv.bias, padding=1))
    if e:
        y = F.interpolate(y, size=m.shape[-2:], mode='bicubic',
                          align_corners=False)
    return m + y[0], e


def reference_delta(module, x, windows):
    """q/k/v update of tokens x (B, H, W, C), windows convolved apart."""
    b, h, w, _ = x.shape
    down = x @ module.lora_A.t()
    mixed = torch.empty_like(down)
    size = module.ctx.window_size if windows else max(h, w)
    chosen = set()
    for i in range(b):
        for r0 in range(0, h, size):
            for c0 in range(0, w, size):
                m = down[i, r0:r0 + size, c0:c0 + size].permute(2, 0, 1)
                out, e = reference_map(module, m)
                chosen.add(e)
                mixed[i, r0:r0 + size, c0:c0 + size] = out.permute(1, 2, 0)
    delta = mixed * module.scaling
    dims = x.shape[-1]
    rows = []
    for slot in range(3):  # q, k, v each from one of B's blocks
        rows.append(delta @ module.lora_B[slot].t())
    return torch.cat(rows, dim=-1).reshape(-1, 3 * dims), chosen


@pytest.mark.parametrize('exporting', [False, True])
@pytest.mark.parametrize('per_window', [True, False])
def test_update_equals_independent_computation(per_window, exporting,
                                               monkeypatch):
    """Eager routing, and the exported graph's (every expert run, masked by
    the choice: data-dependent shapes do not export)."""
    monkeypatch.setattr(torch.compiler, 'is_exporting', lambda: exporting)
    module = conv_lora(per_window=per_window)
    x = torch.randn(2, 8, 8, 16)
    with torch.no_grad():
        got = module.qkv(x, torch.zeros(2 * 64, 48), gate=None)
        expected, chosen = reference_delta(module, x, windows=per_window)
    assert torch.allclose(got, expected, atol=1e-5)
    if per_window:  # 8 windows: several experts in play, not just one
        assert len(chosen) > 1
    logits = torch.tensor([-1.5, 2.0])  # each sample's own gate
    gated = module.qkv(x, torch.zeros(2 * 64, 48), gate=logits)
    per_row = torch.sigmoid(logits).repeat_interleave(64).view(-1, 1)
    assert torch.allclose(gated, expected * per_row, atol=1e-5)


def test_each_expert_resizes_convolves_and_resizes_back():
    module = conv_lora()
    maps = torch.randn(2, 4, 5, 5)
    for e in range(3):
        conv = module.experts[e][0]
        y = maps if not e else F.interpolate(
            maps, size=(5 * (e + 1), 5 * (e + 1)), mode='bicubic')
        y = F.gelu(F.conv2d(y, conv.weight, conv.bias, padding=1))
        y = y if not e else F.interpolate(y, size=(5, 5), mode='bicubic')
        assert torch.allclose(module.run_expert(e, maps), y, atol=1e-6)


@pytest.mark.parametrize('hw', [(6, 8), (8, 5), (5, 6)],
                         ids=lambda hw: '%dx%d' % hw)
def test_non_square_grid_is_padded_to_whole_windows_as_sam_pads(hw):
    """Windowed Conv-LoRA convolves whole windows, padding included: a grid
    with rows or columns (or both) to pad gives the image tokens of the
    grid SAM pads with zero tokens, which needs no padding."""
    torch.manual_seed(0)
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(conv_lora=dict(rank=4, experts=3))).eval()
    block = model.blocks[0]
    assert block.window_size == 4 and block.tuner.pads_windows
    with torch.no_grad():
        for name, param in block.named_parameters():
            if param.requires_grad or 'rel_pos' in name:
                param.add_(torch.randn_like(param) * 0.3)
        h, w = hw
        x = torch.randn(2, h, w, 64)
        out = block.attn(x, block.tuner, {})
        padded = F.pad(x, (0, 0, 0, -w % 4, 0, -h % 4))
        expected = block.attn(padded, block.tuner, {})[:, :h, :w]
        assert out.shape == (2, h, w, 64)
        assert torch.allclose(out, expected, atol=1e-5)
        assert not torch.allclose(out, block.attn(x), atol=1e-3)  # it acts
        # and the whole encoder, on 16 px patches
        image = torch.randn(1, 3, 16 * h, 16 * w)
        assert model(image)[0].shape == (1, 256, h, w)


def _gate_choosing(choices, experts):
    """A noiseless gate whose pooled inputs pick the given experts."""
    gate = NoisyTop1Gate(rank=experts, experts=experts).eval()
    with torch.no_grad():
        gate.w_gate.copy_(torch.eye(experts))
    return gate, F.one_hot(torch.tensor(choices), experts).float()


@pytest.mark.parametrize('choices,experts,expected', [
    ([0, 0, 0, 1], 2, 2 * 0.5),  # counts 3, 1: var 2 / mean^2 4, twice
    ([2, 2, 2, 2], 4, 2 * 4.0),  # counts 0, 0, 4, 0: var 4 / mean^2 1
    ([0, 1, 2, 3], 4, 0.0),  # balanced
])
def test_balance_loss_on_hand_made_gate_patterns(choices, experts, expected):
    gate, pooled = _gate_choosing(choices, experts)
    choice, loss = gate(pooled)
    assert choice.tolist() == choices
    assert loss.item() == pytest.approx(expected)


def test_noisy_load_matches_shazeer_formula_and_trains_the_gate():
    gate = NoisyTop1Gate(rank=4, experts=3).train()
    with torch.no_grad():
        gate.w_gate.normal_()
        gate.w_noise.normal_()
    pooled = torch.randn(6, 4)
    torch.manual_seed(7)
    _, loss = gate(pooled)
    torch.manual_seed(7)
    noise = torch.randn(6, 3).numpy()
    with torch.no_grad():
        clean = (pooled @ gate.w_gate).numpy()
        std = F.softplus(pooled @ gate.w_noise).numpy() + 1e-2
    noisy = clean + noise * std
    top = -np.sort(-noisy, axis=1)[:, :2]
    in_top = noisy > top[:, 1:2]
    prob = np.where(in_top, norm.cdf((clean - top[:, 1:2]) / std),
                    norm.cdf((clean - top[:, :1]) / std))
    load = prob.sum(0)
    counts = np.bincount(noisy.argmax(1), minlength=3).astype(float)

    def cv2(v):
        return v.var(ddof=1) / (v.mean()**2 + 1e-10)

    assert loss.item() == pytest.approx(cv2(counts) + cv2(load), rel=1e-4)
    loss.backward()  # through the load: the gate learns to balance
    assert gate.w_gate.grad.abs().sum() > 0
    assert gate.w_noise.grad.abs().sum() > 0


def test_balance_loss_reported_in_training_only_and_weighted():
    module = conv_lora(loss_coef=0.5, loss_weight=3.0).train()
    x = torch.randn(2, 8, 8, 16)
    module.qkv(x, torch.zeros(128, 48), gate=None)
    loss = module.losses['loss_conv_lora_balance']
    torch.manual_seed(1)
    module.losses = {}
    module.eval().qkv(x, torch.zeros(128, 48), gate=None)
    assert module.losses == {}
    assert loss.requires_grad and loss.item() >= 0
    # the weight and coefficient multiply the raw balance loss
    module.train()
    torch.manual_seed(3)
    module.qkv(x, torch.zeros(128, 48), gate=None)
    scaled = module.losses['loss_conv_lora_balance']
    torch.manual_seed(3)
    _, raw = module.gate(
        (x @ module.lora_A.t()).view(2, 2, 4, 2, 4, 4).permute(
            0, 1, 3, 5, 2, 4).reshape(-1, 4, 4, 4).mean(dim=(2, 3)))
    assert raw.item() > 0
    assert scaled.item() == pytest.approx(raw.item() * 1.5, rel=1e-5)


def test_bad_options_name_the_key():
    ctx = BlockContext(index=0, depth=1, dims=16, num_heads=2, mlp_dims=64,
                       window_size=0, grid=(4, 4))
    with pytest.raises(ValueError, match='conv_lora.experts=0'):
        ConvLoRA(ctx, experts=0)
    with pytest.raises(ValueError, match='conv_lora.loss_weight=-1'):
        ConvLoRA(ctx, loss_weight=-1)
    with pytest.raises(ValueError, match='conv_lora.per_window=.yes.'):
        ConvLoRA(ctx, per_window='yes')
    with pytest.raises(ValueError, match='conv_lora.noisy_gating=.no.'):
        ConvLoRA(ctx, noisy_gating='no')
