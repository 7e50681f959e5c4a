"""The bottleneck adapter and its gate."""
import torch

from mmseg_mopeft.models.peft import Adapter, BlockContext


def test_gate_scales_the_adapter_update_linearly():
    """A gate G adds G times the ungated adapter's update (not, say, G^2):
    the per-sample mixture weight is the sigmoid of the gate logit."""
    torch.manual_seed(0)
    ctx = BlockContext(index=0, depth=1, dims=8, num_heads=1, mlp_dims=32,
                       window_size=0, grid=(4, 4))
    adapter = Adapter(ctx, dim=4)
    with torch.no_grad():
        adapter.up.weight.normal_()
        adapter.up.bias.normal_()
    out = torch.randn(3, 4, 4, 8)
    logits = torch.tensor([-1.0, 0.0, 2.0])
    with torch.no_grad():
        delta = adapter.ffn(out, None) - out
        gated = adapter.ffn(out, logits) - out
    assert delta.abs().min() > 0
    gate = torch.sigmoid(logits).view(3, 1, 1, 1)
    assert torch.allclose(gated, gate * delta, atol=1e-6)
