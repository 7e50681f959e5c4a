"""Every attention path (with gradients: bias folded into q/k for the
fused kernels, or blockwise on CPUs; without them: bias as a chunked mask)
computes SAM's attention and its gradients."""
from contextlib import ExitStack, contextmanager
from functools import partial
from itertools import product
from unittest import mock

import pytest
import torch
from segment_anything.modeling.image_encoder import \
    Attention as ReferenceAttention
from segment_anything.modeling.image_encoder import (window_partition,
                                                     window_unpartition)

from mmseg_mopeft.models import SAMViT
from mmseg_mopeft.models.backbones import sam_vit
from mmseg_mopeft.models.backbones.sam_vit import Attention

DIM, HEADS, WINDOW = 32, 2, 4


def _size(window_size):
    return (WINDOW, WINDOW) if window_size else (6, 6)


def _attention(window_size):
    torch.manual_seed(0)
    size = _size(window_size)
    attn = Attention(DIM, HEADS, True, size, window_size)
    with torch.no_grad():  # SAM's rel-pos tables start at zero
        attn.rel_pos_h.normal_()
        attn.rel_pos_w.normal_()
    return attn


def _reference(attn, x, ref=None):
    """segment_anything's attention with our weights, padding included."""
    if ref is None:
        ref = ReferenceAttention(DIM, HEADS, use_rel_pos=True,
                                 input_size=_size(attn.window_size))
        ref.load_state_dict(attn.state_dict())
    if not attn.window_size:
        return ref(x)
    windows, pad_hw = window_partition(x, attn.window_size)
    return window_unpartition(ref(windows), attn.window_size, pad_hw,
                              x.shape[1:3])


@contextmanager
def _not_called(paths):
    with ExitStack() as stack:
        mocks = [
            stack.enter_context(
                mock.patch.object(Attention, f'_attend_{path}'))
            for path in paths
        ]
        yield
    for path, spy in zip(paths, mocks):
        assert not spy.called, path


class _Prefix:
    """Stands in for a tuner that prepends keys with a logit bias."""
    pads_windows = False

    def __init__(self, length, logit_bias):
        self.kv = torch.randn(2, 1, length, DIM)
        self.logit_bias = logit_bias

    def qkv(self, x, qkv, state):
        return qkv

    def qkv_padding(self, fill, state, batch):
        return fill

    def prefix(self, state, batch):
        keys, values = self.kv.expand(-1, batch, -1, -1)
        bias = self.logit_bias
        return keys, values, None if bias is None else bias.expand(
            batch, 1, -1, 1)


# path: (Attention method, blockwise_devices, blockwise fold_bias)
TRAINING_PATHS = {
    'widened': ('widened', (), None),
    'blockwise': ('blockwise', ('cpu', ), False),
    'blockwise, bias folded': ('blockwise', ('cpu', ), True),
}


@contextmanager
def _training_path(path):
    """Gradients flow: the path ``Attention`` takes on a GPU (``widened``)
    or on a CPU (``blockwise``, with the bias folded into the dot product
    as in bf16 windows), all run here in fp32."""
    _, devices, fold = TRAINING_PATHS[path]
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(Attention, 'blockwise_devices', devices))
        if fold is not None:
            stack.enter_context(
                mock.patch.object(
                    sam_vit, 'blockwise_attention',
                    partial(sam_vit.blockwise_attention, fold_bias=fold)))
        yield


@pytest.mark.parametrize(
    'window_size,hw',
    [
        (0, (6, 6)),
        (WINDOW, (6, 6)),  # whole, right, bottom and corner windows
        (WINDOW, (8, 6)),  # whole rows, padded last column of windows
        (WINDOW, (3, 2)),  # one window, mostly padding
    ])
@pytest.mark.parametrize('path', TRAINING_PATHS)
def test_every_path_equals_segment_anything(window_size, hw, path):
    attn = _attention(window_size)
    ref = ReferenceAttention(DIM, HEADS, use_rel_pos=True,
                             input_size=_size(window_size))
    ref.load_state_dict(attn.state_dict())
    x = torch.randn(2, *hw, DIM, requires_grad=True)
    expected = _reference(attn, x, ref)
    others = {'widened', 'blockwise', 'masked'} - {TRAINING_PATHS[path][0]}
    with _training_path(path), _not_called(others):
        trained = attn(x)
    with torch.no_grad(), _not_called({'widened', 'blockwise'}):
        chunked = attn(x)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(trained, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(chunked, expected, atol=1e-5, rtol=1e-5)
    # and the same gradients, for the input and every weight
    upstream = torch.randn_like(expected)
    names = [n for n, _ in attn.named_parameters()]
    ours = torch.autograd.grad(trained, [x] + list(attn.parameters()),
                               upstream)
    theirs = torch.autograd.grad(expected, [x] + list(ref.parameters()),
                                 upstream)
    assert names == [n for n, _ in ref.named_parameters()]
    for name, a, b in zip(['x'] + names, ours, theirs):
        assert b.abs().max() > 0, name
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=name)


@pytest.mark.parametrize('window_size', [0, WINDOW])
@pytest.mark.parametrize('gated', [False, True])
def test_prefix_keys_and_chunks_agree_across_paths(window_size, gated):
    attn = _attention(window_size)
    torch.manual_seed(1)
    length = 3
    tuner = _Prefix(length,
                    torch.randn(1, 1, length, 1) * 3 if gated else None)
    tuner.kv.requires_grad_()
    if gated:
        tuner.logit_bias.requires_grad_()
    x = torch.randn(2, 6, 6, DIM, requires_grad=True)
    leaves = [x, tuner.kv] + ([tuner.logit_bias] if gated else [])
    upstream = torch.randn(2, 6, 6, DIM)
    with _training_path('widened'):
        widened = attn(x, tuner, {})
    grads = torch.autograd.grad(widened, leaves, upstream)
    for size, path in product((attn.blockwise_bytes, 1),
                              ('blockwise', 'blockwise, bias folded')):
        attn.blockwise_bytes = attn.mask_elements = size  # 1: a query a block
        with _training_path(path):
            blockwise = attn(x, tuner, {})
        torch.testing.assert_close(blockwise, widened, atol=1e-5, rtol=1e-5)
        for a, b in zip(grads,
                        torch.autograd.grad(blockwise, leaves, upstream)):
            assert a.abs().max() > 0
            torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-4)
        with torch.no_grad():
            masked = attn(x, tuner, {})
        torch.testing.assert_close(masked, widened, atol=1e-5, rtol=1e-5)


def test_frozen_untuned_blocks_take_the_mask_path():
    model = SAMViT(arch='tiny', img_size=64, window_size=4, frozen=True,
                   peft=dict(lora=dict(rank=4)),
                   peft_blocks='last_half').train()
    calls = []
    original = Attention._attend_masked

    def spy(self, *args):
        calls.append(self)
        return original(self, *args)

    with mock.patch.object(Attention, '_attend_masked', spy):
        model(torch.randn(1, 3, 64, 64))
    assert calls == [model.blocks[0].attn, model.blocks[1].attn]


@pytest.mark.parametrize('path', ['widened', 'blockwise', 'masked'])
def test_window_padding_asks_no_queries(path):
    """A 6 x 6 grid in 4 x 4 windows: 36 image tokens query (SAM: 4 padded
    windows of 16), each against its window's 16 keys."""
    attn = _attention(WINDOW)
    grad = path != 'masked'
    x = torch.randn(2, 6, 6, DIM, requires_grad=grad)
    kernel = (sam_vit, 'blockwise_attention') if path == 'blockwise' else (
        torch.nn.functional, 'scaled_dot_product_attention')
    spy = mock.patch.object(*kernel, wraps=getattr(*kernel))
    training_path = 'widened' if path == 'masked' else path
    with spy as spy, _training_path(training_path), \
            torch.set_grad_enabled(grad):
        attn(x)
    queries = sum(call.args[0].shape[0] * call.args[0].shape[2]
                  for call in spy.call_args_list)
    assert queries == 2 * 36
    assert {call.args[1].shape[2] for call in spy.call_args_list} == {16}
