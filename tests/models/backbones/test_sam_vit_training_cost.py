"""Gradient checkpointing is exact; untuned early blocks build no graph."""
from unittest import mock

import pytest
import torch
from helpers import probe_loss

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.backbones import sam_vit
from mmseg_mopeft.models.peft import PEFT_METHODS

PEFTS = [None] + [{name: {}} for name in sorted(PEFT_METHODS.module_dict)] \
    + [dict(lora=dict(rank=4), prefix=dict(length=5), adapter=dict(dim=8),
            gated=True)]


def _pair(peft, frozen):
    models = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = SAMViT(arch='tiny', img_size=64, window_size=4,
                       frozen=frozen, peft=peft, with_cp=with_cp).train()
        with torch.no_grad():  # zero-initialised parts move, as in training
            for name, p in model.named_parameters():
                if '.tuner.' in name:
                    p.add_(torch.randn(p.shape,
                                       generator=torch.Generator().manual_seed(
                                           len(name))) * 0.1)
        models.append(model)
    return models


@pytest.mark.parametrize('peft', PEFTS, ids=lambda p: '+'.join(p or ['none']))
def test_with_cp_gives_the_same_loss_and_gradients(peft):
    frozen = peft is not None
    plain, cp = _pair(peft, frozen)
    x = torch.randn(2, 3, 80, 80)
    results = []
    for model in (plain, cp):
        torch.manual_seed(1)  # Conv-LoRA's noisy gate draws the same noise
        loss = probe_loss(model(x)[0])
        loss = loss + sum(model.pop_aux_losses().values())
        loss.backward()
        results.append((loss.detach(), {
            n: p.grad for n, p in model.named_parameters()
            if p.grad is not None
        }))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-6,
                              rtol=1e-5), name


@pytest.mark.parametrize('training,grad', [(True, True), (False, True),
                                           (True, False)])
def test_with_cp_checkpoints_each_block_only_when_training(training, grad):
    """The exactness test above would pass without checkpointing too: see
    that each block is checkpointed. Evaluation and no-grad passes keep no
    activations to save, so they run the blocks directly."""
    model = SAMViT(arch='tiny', img_size=64, window_size=4, with_cp=True)
    model.train(training)
    with mock.patch.object(sam_vit, 'checkpoint',
                           wraps=sam_vit.checkpoint) as spy, \
            torch.set_grad_enabled(grad):
        out = model(torch.randn(1, 3, 64, 64))[0]
    checkpointed = [call.args[0] for call in spy.call_args_list]
    assert checkpointed == (list(model.blocks) if training and grad else [])
    assert out.requires_grad == grad


def test_untuned_early_blocks_build_no_graph():
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(lora=dict(rank=4), adapter=dict(dim=8),
                             gated=True),
                   peft_blocks='last_half', out_indices=(0, 1, 2, 3)).train()
    assert [b.tuner is not None for b in model.blocks] == [
        False, False, True, True]
    outs = model(torch.randn(1, 3, 64, 64))
    no_graph = [o.grad_fn is None for o in outs]
    assert no_graph == [True, True, False, False, False]


@pytest.mark.parametrize('blocks,tuned', [
    ('last_half', [2, 3]),
    (1, [1, 2, 3]),
    ([0, 3], [0, 3]),
    ('all', [0, 1, 2, 3]),
])
def test_peft_blocks_apply_to_every_method(blocks, tuned):
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(lora=dict(), ssf=dict(blocks=[1, 2, 3])),
                   peft_blocks=blocks)
    for i, block in enumerate(model.blocks):
        names = set(block.tuner.methods) if block.tuner else set()
        expected = {'lora'} if i in tuned else set()
        if i in tuned and i >= 1:
            expected.add('ssf')
        assert names == expected, i


def test_peft_blocks_with_an_unfrozen_encoder_is_an_error():
    with pytest.raises(ValueError, match='frozen=True'):
        SAMViT(arch='tiny', img_size=64, peft=dict(lora=dict()),
               peft_blocks='last_half')
    with pytest.raises(ValueError, match=r"peft_blocks='first'"):
        SAMViT(arch='tiny', img_size=64, frozen=True,
               peft=dict(lora=dict()), peft_blocks='first')
