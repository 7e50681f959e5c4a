"""The per-block tuner: gate inputs and the order rule of folding."""
import pytest
import torch

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.peft import fold_peft


def build(peft):
    torch.manual_seed(0)
    return SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                  peft=peft).eval()


def test_gates_read_the_block_input_averaged_over_tokens():
    """Gates see the whole sample, not one token: a gate is the mean over
    tokens of the sigmoid of its linear map (UniPELT's gate), handed on as
    a logit."""
    tuner = build(dict(lora=dict(rank=2), adapter=dict(dim=4),
                       gated=True)).blocks[0].tuner
    with torch.no_grad():
        for gate in tuner.gates.values():
            gate.proj.weight.normal_()
        x = torch.randn(2, 5, 6, 64)
        # so the order of the tokens does not matter either
        shuffled = x.flatten(1, 2)[:, torch.randperm(30)].view_as(x)
        for state in (tuner.begin(x), tuner.begin(shuffled)):
            assert set(state) == {'lora', 'adapter'}
            for name, gate in tuner.gates.items():
                tokens = x @ gate.proj.weight[0] + gate.proj.bias
                expected = tokens.sigmoid().mean(dim=(1, 2))
                assert torch.allclose(state[name].sigmoid(), expected,
                                      atol=1e-6)
                assert not torch.allclose(
                    expected, (x.mean(dim=(1, 2)) @ gate.proj.weight[0] +
                               gate.proj.bias).sigmoid(), atol=1e-2)


@pytest.mark.parametrize('order,folds_ssf', [(('lora', 'ssf'), False),
                                             (('ssf', 'lora'), True)],
                         ids=['ssf_after_lora', 'ssf_before_lora'])
def test_fold_keeps_a_method_that_follows_one_that_stays(order, folds_ssf):
    """SSF scales the q/k/v output, LoRA's update included. With LoRA gated
    (kept) and run first, folding SSF into the q/k/v weights would scale
    the frozen part only, so SSF stays too; run before LoRA, it folds."""
    methods = dict(lora=dict(rank=2), ssf=dict())
    model = build({**{n: methods[n] for n in order}, 'gated': ['lora']})
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 80, 80, generator=gen)  # padded windows too
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn(param.shape, generator=gen) * 0.2)
        before = model(x)[0]
        report = fold_peft(model)
        after = model(x)[0]
    assert (after - before).abs().max() < 1e-4, str(report)
    kept = {name.rsplit('.', 1)[1]: why for name, why in report.kept.items()}
    if folds_ssf:
        assert set(kept) == {'lora'}
        assert all(set(t.methods) == {'lora'} for t in model.tuners)
    else:
        assert set(kept) == {'lora', 'ssf'}
        assert 'follows a method that stays' in kept['ssf']


@pytest.mark.parametrize('bias', [-60.0, 60.0])
def test_saturated_gates_keep_finite_logits_and_gradients(bias):
    """The mean is taken in log space: a gate near 0 or 1 gives a finite
    logit (its sigmoid the gate) and finite gradients, where the logit of
    a directly averaged sigmoid would be +-inf."""
    tuner = build(dict(lora=dict(rank=2), gated=True)).blocks[0].tuner
    gate = tuner.gates['lora']
    with torch.no_grad():
        gate.proj.bias.fill_(bias)
    x = torch.randn(2, 5, 6, 64)
    logit = tuner.begin(x)['lora']
    assert torch.isfinite(logit).all() and abs(logit.mean() - bias) < 1
    logit.sum().backward()
    assert torch.isfinite(gate.proj.weight.grad).all()
    assert gate.proj.bias.grad.abs() > 0
