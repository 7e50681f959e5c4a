"""A gate stays in its parameters' dtype under autocast."""
import torch

from mmseg_mopeft.models.peft import Gate


def test_gate_logits_are_fp32_and_exact_under_bf16_autocast():
    torch.manual_seed(0)
    gate = Gate(64, init_std=0.5)
    x = torch.randn(3, 5, 6, 64).bfloat16()  # a bf16 block input
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = gate(x)
    assert logits.dtype == torch.float32
    tokens = x.double() @ gate.proj.weight.double().t() \
        + gate.proj.bias.double()
    expected = tokens.sigmoid().mean(dim=(1, 2)).squeeze(-1)
    torch.testing.assert_close(logits.double().sigmoid(), expected,
                               rtol=1e-6, atol=1e-6)
    # the bf16 product the autocast default would give is visibly off
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rounded = gate.proj(x).sigmoid().mean(dim=(1, 2)).squeeze(-1)
    assert not torch.allclose(rounded.double(), expected, rtol=1e-4,
                              atol=1e-4)
