"""LoRA's alpha / rank scale, in the update and when folded."""
import pytest
import torch

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.peft import BlockContext, LoRA, fold_peft


def context(dims):
    return BlockContext(index=0, depth=1, dims=dims, num_heads=1,
                        mlp_dims=4 * dims, window_size=0, grid=(4, 4))


@pytest.mark.parametrize('alpha,scale', [(None, 1.0), (16, 4.0), (2, 0.5)])
def test_update_is_scaled_by_alpha_over_rank(alpha, scale):
    """Without alpha the update is B A itself (alpha defaults to the
    rank); otherwise alpha / rank times it."""
    torch.manual_seed(0)
    lora = LoRA(context(8), rank=4, alpha=alpha, targets=('q', ))
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(5, 8)
    with torch.no_grad():
        delta = lora.qkv(x, torch.zeros(5, 24), gate=None)
    expected = x @ lora.lora_A.t() @ lora.lora_B[0].t() * scale
    assert torch.allclose(delta[:, :8], expected, atol=1e-5)
    assert torch.equal(delta[:, 8:], torch.zeros(5, 16))


def test_gate_scales_each_samples_update_by_its_own_gate():
    """Gated, sample b's update is sigmoid(logit b) times the ungated one
    (the gate acts once, on its own sample's tokens only)."""
    torch.manual_seed(0)
    lora = LoRA(context(8), rank=4, alpha=8, targets=('q', 'v'))
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(3, 2, 2, 8)  # (B, H, W, C); q/k/v rows are B * H * W
    logits = torch.tensor([-2.0, 0.5, 3.0])
    with torch.no_grad():
        ungated = lora.qkv(x, torch.zeros(12, 24), gate=None)
        gated = lora.qkv(x, torch.zeros(12, 24), gate=logits)
    per_row = torch.sigmoid(logits).repeat_interleave(4).view(12, 1)
    assert torch.allclose(gated, per_row * ungated, atol=1e-6)
    assert torch.equal(ungated[:, 8:16], torch.zeros(12, 8))  # k untouched
    assert ungated[:, :8].abs().min() > 0 and ungated[:, 16:].abs().min() > 0


def test_fold_keeps_outputs_when_alpha_is_not_the_rank():
    """The folded weight carries the same alpha / rank scale as the
    unfolded update (the contract folds alpha = rank only)."""
    torch.manual_seed(0)
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(lora=dict(rank=4, alpha=16))).eval()
    sam = SAMViT(arch='tiny', img_size=64, window_size=4).eval()
    sam.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        for block in model.blocks:
            block.tuner.methods.lora.lora_B.normal_(0, 0.2)
    x = torch.randn(2, 3, 80, 80)  # padded windows too
    with torch.no_grad():
        before = model(x)[0]
        report = fold_peft(model)
        after = model(x)[0]
        assert not torch.allclose(before, sam(x)[0], atol=1e-3)
    assert report.complete and not model.tuners
    assert (after - before).abs().max() < 1e-4
