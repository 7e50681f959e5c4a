"""PEFT methods and MoPEFT gates in SAMViT."""
import copy

import pytest
import torch
from helpers import probe_loss

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.peft import (BlockContext, Gate, LoRA, Prefix,
                                      fold_prefixes)

MOPEFT = dict(
    lora=dict(rank=4),
    prefix=dict(length=5),
    adapter=dict(dim=8),
    gated=True)


def build(peft=None, arch='tiny', **kwargs):
    torch.manual_seed(0)
    return SAMViT(
        arch=arch, img_size=64, window_size=4, frozen=True, peft=peft,
        **kwargs).eval()


def context(dims):
    return BlockContext(index=0, depth=1, dims=dims, num_heads=1,
                        mlp_dims=4 * dims, window_size=0, grid=(4, 4))


def plain_twin(model):
    """The same encoder weights without any tuner."""
    twin = copy.deepcopy(model)
    for block in twin.blocks:
        block.tuner = None
    return twin


def _randomize(model, pattern):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if pattern in name:
                param.normal_(0, 0.5)


@pytest.mark.parametrize('peft', [
    dict(lora=dict(rank=4)),
    dict(adapter=dict(dim=8)),
    dict(lora=dict(rank=4), adapter=dict(dim=8), gated=True),
])
def test_lora_and_adapter_start_exactly_at_sam(peft):
    model = build(peft)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x)[0], plain_twin(model)(x)[0])
    _randomize(model, 'lora_B')
    _randomize(model, 'up.')
    with torch.no_grad():  # and the methods do act once trained
        assert not torch.allclose(model(x)[0], plain_twin(model)(x)[0],
                                  atol=1e-3)


def test_lora_adds_low_rank_update_to_q_and_v_only():
    lora = LoRA(context(8), rank=2, alpha=4)
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(3, 8)
    delta = lora.qkv(x, torch.zeros(3, 24), gate=None)
    a_q, a_v = lora.lora_A[:2], lora.lora_A[2:]
    expected_q = x @ a_q.t() @ lora.lora_B[0].t() * 2
    expected_v = x @ a_v.t() @ lora.lora_B[1].t() * 2
    assert torch.allclose(delta[:, :8], expected_q, atol=1e-6)
    assert torch.equal(delta[:, 8:16], torch.zeros(3, 8))
    assert torch.allclose(delta[:, 16:], expected_v, atol=1e-6)
    gated = lora.qkv(x, torch.zeros(3, 24), gate=torch.zeros(3))
    assert torch.allclose(gated, delta * 0.5, atol=1e-6)  # sigmoid(0)


def test_trained_lora_equals_merged_weights_with_padded_windows():
    # 80 px: a 5 x 5 token grid in 4 x 4 windows, so windows are padded. SAM
    # with the LoRA update merged into its qkv weights is the reference.
    torch.manual_seed(0)
    model = SAMViT(arch='tiny', img_size=80, window_size=4, frozen=True,
                   peft=dict(lora=dict(rank=2, alpha=4))).eval()
    _randomize(model, 'lora_B')
    merged = plain_twin(model)
    with torch.no_grad():
        dims = model.embed_dims
        for block, twin in zip(model.blocks, merged.blocks):
            lora = block.tuner.methods['lora']
            for i, rows in enumerate((slice(0, dims), slice(2 * dims, None))):
                a = lora.lora_A[i * 2:(i + 1) * 2]
                twin.attn.qkv.weight[rows] += 2 * lora.lora_B[i] @ a
        x = torch.randn(2, 3, 80, 80)
        assert torch.allclose(model(x)[0], merged(x)[0], atol=1e-5)


def test_prefix_folding_gives_identical_outputs():
    model = build(dict(prefix=dict(length=5), gated=True))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model(x)[0]
        assert fold_prefixes(model) == 4
        after = model(x)[0]
    assert torch.allclose(before, after, atol=1e-6)
    names = [n for n, _ in model.named_parameters()]
    assert not any('prefix.mlp' in n or 'prefix.embedding' in n
                   for n in names)
    assert 'blocks.0.tuner.methods.prefix.kv' in names


def test_mopeft_with_all_gates_closed_equals_sam():
    model = build(MOPEFT)
    _randomize(model, 'lora_B')
    _randomize(model, 'up.')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(model(x)[0], plain_twin(model)(x)[0],
                                  atol=1e-3)
        for gate in model.modules():
            if isinstance(gate, Gate):
                gate.proj.bias.fill_(-float('inf'))
        closed = model(x)[0]
        assert torch.isfinite(closed).all()
        assert torch.allclose(closed, plain_twin(model)(x)[0], atol=1e-5)


def test_gates_in_unit_interval_start_near_half_and_get_gradients():
    model = build(MOPEFT).train()
    # LoRA's B and the adapter's up start at zero, so their gates get
    # gradient once these have moved; simulate that.
    _randomize(model, 'lora_B')
    _randomize(model, 'up.')
    for block in model.blocks:
        block.tuner.record_gates = True
    probe_loss(model(torch.randn(2, 3, 64, 64))[0]).backward()
    for block in model.blocks:
        for name, value in block.tuner.last_gates.items():
            assert value.shape == (2, )
            assert ((value > 0) & (value < 1)).all()
            assert torch.allclose(value, torch.full((2, ), 0.5), atol=0.05)
        for gate in block.tuner.gates.values():
            assert gate.proj.weight.grad.abs().sum() > 0


def test_prefix_gate_scales_prefix_attention_weight():
    """log-gate in the logits == prefix attention weights times G."""
    prefix = Prefix(context(4), length=3, mlp_dims=None)
    keys, values, bias = prefix.prefix(1, torch.tensor([0.3]))
    gate = torch.sigmoid(torch.tensor(0.3))
    q = torch.randn(5, 4)
    k_img, v_img = torch.randn(6, 4), torch.randn(6, 4)
    logits_p, logits_i = q @ keys[0].t(), q @ k_img.t()
    out = torch.softmax(torch.cat([logits_p + bias[0, 0], logits_i], -1),
                        -1) @ torch.cat([values[0], v_img])
    w_p, w_i = gate * logits_p.exp(), logits_i.exp()
    expected = (w_p @ values[0] + w_i @ v_img) / (
        w_p.sum(-1, keepdim=True) + w_i.sum(-1, keepdim=True))
    assert torch.allclose(out, expected, atol=1e-5)


def _count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize('peft,per_block,blocks', [
    (dict(lora=dict(rank=8)), lambda c: 2 * 8 * c * 2, 12),
    (dict(lora=dict(rank=4, targets=('q', 'k', 'v'))),
     lambda c: 3 * 4 * c * 2, 12),
    (dict(prefix=dict(length=20)),
     lambda c: 20 * c + (c * 32 + 32) + (32 * 2 * c + 2 * c), 12),
    (dict(prefix=dict(length=20, blocks=[0], mlp_dims=None)),
     lambda c: 2 * 20 * c, 1),
    (dict(adapter=dict(dim=64)), lambda c: (c * 64 + 64) + (64 * c + c), 12),
    (dict(lora=dict(rank=8), prefix=dict(length=20), adapter=dict(dim=64),
          gated=True),
     lambda c: 2 * 8 * c * 2 + 20 * c + (c * 32 + 32) +
     (32 * 2 * c + 2 * c) + (c * 64 + 64) + (64 * c + c) + 3 * (c + 1), 12),
])
def test_trainable_parameters_match_closed_form(peft, per_block, blocks):
    model = build(peft, arch='vit-b')
    assert _count(model) == blocks * per_block(768)


@pytest.mark.parametrize('peft,message', [
    (dict(lroa=dict(rank=8)), "Unknown PEFT method 'lroa'"),
    (dict(lora=dict(rank=0)), r'peft.lora.rank=0: must be an integer'),
    (dict(lora=dict(rnk=8)), r"peft.lora: .*unexpected keyword .*'rnk'"),
    (dict(lora=dict(rank=65)), r'lora.rank=65: must be an integer \[1, 64\]'),
    (dict(prefix=dict(length=-2)), r'prefix.length=-2'),
    (dict(adapter=dict(dim=0)), r'adapter.dim=0'),
    (dict(lora=dict(rank=4, blocks=[7])), r'indices \[7\] are outside'),
    (dict(lora=dict(rank=4, targets=('q', 'x'))), r'lora.targets'),
    (dict(lora=dict(rank=4, targets='qv')), r'lora.targets'),
    (dict(lora=dict(rank=4, blocks='0')), r'peft.lora.blocks=.0.'),
    (dict(lora=dict(rank=4, blocks=[1.5])), r'peft.lora.blocks=\[1.5\]'),
    (dict(lora=dict(rank=4, blocks=[])), r'peft.lora.blocks=\[\]'),
    (dict(lora=dict(rank=4), gated='no'), r"peft.gated='no'"),
    (dict(lora=dict(rank=4, alpha=0)), r'peft.lora.alpha=0'),
    (dict(bitfit=dict(), gated=True), r"'bitfit' cannot be gated"),
    (dict(lora=dict(rank=4), gated=['adapter']), r"\['adapter'\] are not"),
    (dict(gated=True), 'names no method'),
    (dict(lora=8), 'must be a dict'),
])
def test_bad_peft_config_fails_at_build_time(peft, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build(peft)


def test_methods_are_only_in_the_blocks_asked_for():
    model = build(dict(prefix=dict(length=5, blocks=[0], mlp_dims=None)))
    assert model.blocks[0].tuner is not None
    assert all(block.tuner is None for block in model.blocks[1:])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['blocks.0.tuner.methods.prefix.kv']


def test_mopeft_trains_under_bf16_autocast():
    # --amp (fp16 on GPUs): LoRA's in-place addmm_ must match the dtype
    model = build(MOPEFT)
    _randomize(model, 'lora_B')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)[0]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x)[0]
    assert torch.allclose(out.float(), reference, atol=0.1)
    probe_loss(out).backward()
    for name in ('methods.lora.lora_A', 'methods.prefix.mlp.2.weight',
                 'methods.adapter.up.weight', 'gates.prefix.proj.weight'):
        grad = model.get_parameter(f'blocks.1.tuner.{name}').grad
        assert grad is not None and grad.abs().sum() > 0, name
