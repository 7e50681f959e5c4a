"""SSF: scale and shift after each operation, folded exactly."""
import pytest
import torch

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.peft import fold_peft


def _model(**ssf):
    torch.manual_seed(0)
    return SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                  peft=dict(ssf=ssf)).eval()


def test_scale_and_shift_follow_the_paper_places():
    model = _model()
    ssf = model.blocks[0].tuner.methods.ssf
    assert ssf.places() == ('norm1', 'qkv', 'attn_out', 'norm2',
                            'mlp_hidden', 'ffn')
    widths = {n: p.numel() for n, p in ssf.named_parameters()}
    assert widths['qkv_scale'] == 3 * 64 and widths['mlp_hidden_shift'] == 256
    assert widths['norm1_scale'] == 64
    # per block: (C + 3C + C + C + 4C + C) scales and as many shifts
    assert sum(widths.values()) == 2 * 11 * 64


def test_norm1_scale_shift_against_manual_computation():
    model = _model(places=['norm1'])
    block = model.blocks[0]
    ssf = block.tuner.methods.ssf
    with torch.no_grad():
        ssf.norm1_scale.uniform_(0.5, 1.5)
        ssf.norm1_shift.normal_()
    x = torch.randn(1, 4, 4, 64)
    with torch.no_grad():
        h = block.norm1(x) * ssf.norm1_scale + ssf.norm1_shift
        expected = x + block.attn(h)
        expected = expected + block.mlp(block.norm2(expected))
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_fold_is_exact_and_costs_nothing():
    model = _model()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.ssf.' in name:
                param.add_(torch.randn_like(param) * 0.3)
    x = torch.randn(2, 3, 80, 80)  # padded windows too
    with torch.no_grad():
        before = model(x)[0]
        report = fold_peft(model)
        after = model(x)[0]
    assert report.complete and len(report.folded) == 4
    assert all(block.tuner is None for block in model.blocks)
    assert (after - before).abs().max() < 1e-4
    plain = SAMViT(arch='tiny', img_size=64, window_size=4)
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in plain.parameters())


def test_unknown_place_is_an_error():
    with pytest.raises(ValueError, match=r"peft.ssf.places=\['attn'\]"):
        _model(places=['attn'])


def test_gate_scales_each_samples_change_by_its_own_gate():
    """Gated, sample b gets ``x + G_b * (x * (gamma - 1) + beta)``, on the
    (B, H, W, C) places and on the q/k/v rows (B * H * W of them)."""
    ssf = _model().blocks[0].tuner.methods.ssf
    with torch.no_grad():
        for param in ssf.parameters():
            param.add_(torch.randn_like(param) * 0.3)
    logits = torch.tensor([-2.0, 1.0])
    gates = torch.sigmoid(logits)
    x = torch.randn(2, 4, 4, 64)
    rows = torch.randn(2 * 16, 3 * 64)
    with torch.no_grad():
        got = ssf.norm1(x, logits)
        got_rows = ssf.qkv(x, rows, logits)
    change = x * (ssf.norm1_scale - 1) + ssf.norm1_shift
    assert torch.allclose(got, x + gates.view(2, 1, 1, 1) * change,
                          atol=1e-6)
    change = rows * (ssf.qkv_scale - 1) + ssf.qkv_shift
    per_row = gates.repeat_interleave(16).view(-1, 1)
    assert torch.allclose(got_rows, rows + per_row * change, atol=1e-6)
