"""The contract every registered PEFT method passes, present and future.

Methods are taken from the registry and built with their default options;
no method is named here. What a method declares about itself (starts at
SAM, can be gated, can be folded) decides which checks apply.
"""
import copy

import pytest
import torch
from helpers import probe_loss

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.backbones.sam_vit import Attention
from mmseg_mopeft.models.peft import PEFT_METHODS, fold_peft

METHODS = sorted(PEFT_METHODS.module_dict)
X64 = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
# 80 px: a 5 x 5 token grid, so the 4 x 4 windows are padded, and not the
# 64 px the position embeddings are made for
X80 = torch.randn(2, 3, 80, 80, generator=torch.Generator().manual_seed(2))
# 144 px: a 9 x 9 token grid, so each sample has 2 x 2 whole 4 x 4 windows
# (attended as one group) besides its padded edge windows
X144 = torch.randn(2, 3, 144, 144,
                   generator=torch.Generator().manual_seed(4))


def build(name, gated=False, **kwargs):
    torch.manual_seed(0)
    return SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                  peft={name: {}, 'gated': gated}, **kwargs).eval()


def plain_twin(model):
    twin = copy.deepcopy(model)
    for block in twin.blocks:
        block.tuner = None
    return twin


def perturb(model):
    """Move every trainable parameter away from its initialisation, as
    training would (zero-initialised parts included)."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.requires_grad and '.gates.' not in name:
                param.add_(torch.randn(param.shape, generator=gen) * 0.2)
    return model


def own_parameters(model):
    """The method's parameters plus the frozen ones it declares."""
    names = {n for n, _ in model.named_parameters() if '.tuner.' in n}
    for tuner in model.tuners:
        names |= set(tuner.trained_backbone_params())
    return names


@pytest.mark.parametrize('name', METHODS)
def test_builds_and_trains_exactly_its_own_parameters(name):
    model = build(name).train()
    assert model.tuners, f'{name} attached to no block'
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == own_parameters(model)
    perturb(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    out = model(X64)[0]
    loss = probe_loss(out) + sum(model.pop_aux_losses().values())
    loss.backward()
    reached = {n for n, p in model.named_parameters()
               if p.grad is not None and p.grad.abs().sum() > 0}
    assert reached and reached <= trainable
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                    lr=0.1).step()
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    assert changed and changed <= reached  # tiny gradients may round away


@pytest.mark.parametrize('name', METHODS)
def test_starts_at_sam_when_it_says_so(name):
    model = build(name)
    sam = plain_twin(model)  # before training: BitFit trains SAM's biases
    with torch.no_grad():
        same = torch.equal(model(X64)[0], sam(X64)[0])
    if PEFT_METHODS.module_dict[name].starts_at_sam:
        assert same
    with torch.no_grad():  # and it does act once trained
        perturb(model)
        assert not torch.allclose(model(X64)[0], sam(X64)[0], atol=1e-4)


@pytest.mark.parametrize('name', METHODS)
def test_runs_with_window_padding_global_blocks_and_other_sizes(name):
    model = build(name)
    sam = plain_twin(model)
    perturb(model)
    windowed = [b.window_size > 0 for b in model.blocks if b.tuner]
    assert any(windowed) and not all(windowed)
    with torch.no_grad():
        out = model(X80)[0]
        plain = sam(X80)[0]
    assert out.shape == (2, 256, 5, 5) and torch.isfinite(out).all()
    assert not torch.allclose(out, plain, atol=1e-4)


@pytest.mark.parametrize('name', METHODS)
def test_gate_at_zero_is_no_method(name):
    if PEFT_METHODS.module_dict[name].cannot_gate:
        with pytest.raises(ValueError, match='cannot be gated'):
            build(name, gated=True)
        return
    model = perturb(build(name, gated=True))
    with torch.no_grad():
        for tuner in model.tuners:
            for gate in tuner.gates.values():
                gate.proj.bias.fill_(-float('inf'))
        for x in (X64, X80):
            closed = model(x)[0]
            assert torch.isfinite(closed).all()
            assert torch.allclose(closed, plain_twin(model)(x)[0],
                                  atol=1e-5)


@pytest.mark.parametrize('name', METHODS)
def test_gate_fully_open_is_the_ungated_method(name):
    """A gate of 1 leaves the method's own update whole: the same weights
    without a gate give the same output."""
    if PEFT_METHODS.module_dict[name].cannot_gate:
        pytest.skip(f'{name} cannot be gated')
    model = perturb(build(name, gated=True))
    ungated = build(name)
    missing, unexpected = ungated.load_state_dict(model.state_dict(),
                                                  strict=False)
    assert not missing and unexpected
    assert all('.gates.' in key for key in unexpected)
    with torch.no_grad():
        for tuner in model.tuners:
            for gate in tuner.gates.values():
                gate.proj.weight.zero_()
                gate.proj.bias.fill_(float('inf'))
        for x in (X64, X80):
            opened = model(x)[0]
            assert torch.isfinite(opened).all()
            assert torch.allclose(opened, ungated(x)[0], atol=1e-5)


def set_gates_apart(model, x):
    """Set each gate, in the order the blocks run, so that its token logits
    average -3 and 3 over the two samples of ``x`` (gates far apart)."""

    def calibrate(gate, args):
        first, second = args[0].mean(dim=(1, 2))
        diff = second - first
        gate.proj.weight.copy_(6 * diff / diff.dot(diff))
        gate.proj.bias.fill_(-gate.proj.weight[0].dot(first + second) / 2)

    gates = [g for t in model.tuners for g in (t.gates or {}).values()]
    hooks = [gate.register_forward_pre_hook(calibrate) for gate in gates]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()


@pytest.mark.parametrize('gated', [False, True])
@pytest.mark.parametrize('name', METHODS)
def test_a_samples_output_does_not_depend_on_its_batch(name, gated):
    """Per-sample gates reach every token of their own sample only, also
    where a batch's windows are attended together, and a method shares
    nothing across the batch."""
    if gated and PEFT_METHODS.module_dict[name].cannot_gate:
        pytest.skip(f'{name} cannot be gated')
    model = perturb(build(name, gated=gated))
    if gated:
        set_gates_apart(model, X144)
        for tuner in model.tuners:
            tuner.record_gates = True
    with torch.no_grad():
        batched = model(X144)[0]
        for tuner in model.tuners if gated else ():
            for value in tuner.last_gates.values():
                assert (value[1] - value[0]).item() > 0.4
        alone = torch.cat([model(X144[i:i + 1])[0] for i in range(2)])
    assert batched.shape == (2, 256, 9, 9)
    assert torch.allclose(batched, alone, atol=1e-5)


@pytest.mark.parametrize('gpu_attention', [False, True])
@pytest.mark.parametrize('gated', [False, True])
@pytest.mark.parametrize('name', METHODS)
def test_bf16_autocast(name, gated, gpu_attention, monkeypatch):
    """Also on the training attention GPUs take (the fused kernel), where
    prefix keys and their gate's logit bias join SAM's keys."""
    if gated and PEFT_METHODS.module_dict[name].cannot_gate:
        pytest.skip(f'{name} cannot be gated')
    if gpu_attention:
        monkeypatch.setattr(Attention, 'blockwise_devices', ())
    model = perturb(build(name, gated=gated)).train()
    for tuner in model.tuners:
        tuner.record_gates = True
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(X64)[0]
        losses = model.pop_aux_losses()
    loss = probe_loss(out) + sum(v.float() for v in losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    for tuner in model.tuners if gated else ():  # gates stay fp32
        assert {v.dtype for v in tuner.last_gates.values()} == {torch.float32}
        for gate in tuner.gates.values():
            assert gate.proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('name', METHODS)
def test_state_dict_round_trip_restores_outputs(name):
    model = perturb(build(name))
    fresh = build(name)
    fresh.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(model(X80)[0], fresh(X80)[0])


@pytest.mark.parametrize('name', METHODS)
@pytest.mark.parametrize('gated', [False, True])
def test_fold_equals_unfolded_or_says_why_not(name, gated):
    method = PEFT_METHODS.module_dict[name]
    if gated and method.cannot_gate:
        return
    model = perturb(build(name, gated=gated))
    with torch.no_grad():
        before = model(X80)[0]
        report = fold_peft(model)
        after = model(X80)[0]
    assert (after - before).abs().max() < 1e-4
    foldable = method.cannot_fold is None and not gated
    assert report.complete == foldable, str(report)
    if not foldable:
        assert all(why for why in report.kept.values())
    elif name != 'prefix':  # absorbed: the backbone is plain SAM again
        assert not model.tuners
        assert not any('.tuner.' in n for n, _ in model.named_parameters())
