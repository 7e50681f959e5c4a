"""Blockwise attention against the attention matrix written out, and its
hand-written backward pass against numerical gradients."""
import pytest
import torch

from mmseg_mopeft.models.backbones import blockwise_attention as module
from mmseg_mopeft.models.backbones.blockwise_attention import \
    blockwise_attention

B, HEADS, KH, KW, DIM = 2, 3, 3, 4, 5


def _inputs(queries=7, prefix_len=2, prefix_shape=None, dtype=torch.double):
    g = torch.Generator().manual_seed(0)
    keys = prefix_len + KH * KW

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype,
                           requires_grad=True)

    inputs = [
        rand(B, HEADS, queries, DIM),
        rand(B, HEADS, keys, DIM),
        rand(B, HEADS, keys, DIM),
        rand(B, HEADS, queries, KH),
        rand(B, HEADS, queries, KW)
    ]
    return inputs + [None if prefix_shape is None else rand(*prefix_shape)]


def _written_out(q, k, v, bias_h, bias_w, prefix_bias):
    """The full (Nq, L + kh * kw) bias, then softmax(q k^T + bias) v."""
    prefix_len = k.shape[2] - bias_h.shape[-1] * bias_w.shape[-1]
    grid = (bias_h[..., :, None] + bias_w[..., None, :]).flatten(-2)
    prefix = torch.zeros(*grid.shape[:-1], prefix_len, dtype=grid.dtype)
    if prefix_bias is not None:
        prefix = prefix + prefix_bias
    bias = torch.cat([prefix, grid], dim=-1)
    return torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1) @ v


@pytest.fixture(params=[False, True], ids=['unaligned', 'aligned'])
def aligned(request, monkeypatch):
    """With ``aligned``, every row of logits is padded to whole 64-byte
    lines (8 float64 or 32 bf16 keys), which the small inputs here would
    not get."""
    if not request.param:
        yield False
        return
    monkeypatch.setattr(module, 'MAX_PADDING', float('inf'))
    key_counts = []  # (before, after, bytes per key)
    align = module._align_keys

    def spy(k, *args):
        result = align(k, *args)
        key_counts.append((k.shape[2], result[0].shape[2], k.itemsize))
        return result

    monkeypatch.setattr(module, '_align_keys', spy)
    yield True
    assert key_counts and all(after > before and after * size % 64 == 0
                              for before, after, size in key_counts)


@pytest.mark.parametrize('prefix_len,prefix_shape', [
    (0, None),
    (2, None),
    (2, (B, 1, 1, 1)),  # a gate per sample, every prefix key and head
    (2, (1, HEADS, 1, 2)),  # a bias per head and key
])
@pytest.mark.parametrize('block_bytes', [1, 800, 2**23])
@pytest.mark.parametrize('fold_bias', [False, True])
def test_equals_the_attention_matrix_written_out(prefix_len, prefix_shape,
                                                 block_bytes, fold_bias,
                                                 aligned):
    inputs = _inputs(prefix_len=prefix_len, prefix_shape=prefix_shape)
    ours = blockwise_attention(
        *inputs, block_bytes=block_bytes, fold_bias=fold_bias)
    expected = _written_out(*inputs)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    leaves = [t for t in inputs if t is not None]
    for name, a, b in zip('q k v bias_h bias_w prefix_bias'.split(),
                          torch.autograd.grad(ours, leaves, upstream),
                          torch.autograd.grad(expected, leaves, upstream)):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize('fold_bias', [False, True])
def test_backward_passes_gradcheck(fold_bias, aligned):
    inputs = _inputs(queries=4, prefix_shape=(B, 1, 1, 1))
    assert torch.autograd.gradcheck(
        lambda *t: blockwise_attention(
            *t, block_bytes=480, fold_bias=fold_bias), inputs)


@pytest.mark.parametrize('fold_bias', [False, True])
def test_frozen_keys_get_no_gradient(fold_bias):
    q, k, v, bias_h, bias_w, _ = _inputs()
    k, v = k.detach(), v.detach()
    blockwise_attention(
        q, k, v, bias_h, bias_w, fold_bias=fold_bias).sum().backward()
    assert k.grad is None and v.grad is None
    assert q.grad is not None and bias_h.grad is not None


@pytest.mark.parametrize('fold_bias', [False, True])
def test_bf16_autocast_keeps_gradients_in_their_dtypes(fold_bias, aligned):
    inputs = _inputs(prefix_shape=(B, 1, 1, 1), dtype=torch.float)
    q, rest = inputs[0], inputs[1:]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = blockwise_attention(q.bfloat16(), *rest, fold_bias=fold_bias)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    expected = _written_out(*inputs)
    torch.testing.assert_close(out.float(), expected, atol=0.05, rtol=0.05)
    for t in inputs:
        assert t.grad.dtype == torch.float and t.grad.isfinite().all()


@pytest.mark.parametrize('block_bytes', [1, 2**23])
@pytest.mark.parametrize('fold_bias', [False, True])
def test_bf16_gradients_are_as_accurate_as_plain_bf16_attention(
        block_bytes, fold_bias):
    """Against float64, every gradient in bf16 is within 1.5x the error of
    the attention matrix written out in bf16 (an 8 x 8 grid, 2 prefix
    keys; 1.21x at worst over 10 seeds). One query per block sums 256
    blocks' gradients into keys and values: summed in bf16, that gave
    1.75x.
    A prefix bias is left out: its gradient sums logit gradients that
    cancel, and its error in bf16 varies 10x from seed to seed."""
    g = torch.Generator().manual_seed(0)
    shapes = [(B, HEADS, 256, 16), (B, HEADS, 66, 16), (B, HEADS, 66, 16),
              (B, HEADS, 256, 8), (B, HEADS, 256, 8)]
    leaves64 = [
        torch.randn(*s, generator=g, dtype=torch.double) for s in shapes
    ]
    leaves64[0] = leaves64[0] * 0.5  # logits of a few units, as in SAM
    upstream = torch.randn(B, HEADS, 256, 16, generator=g,
                           dtype=torch.double)

    def grads(fn, dtype):
        leaves = [t.to(dtype).requires_grad_() for t in leaves64]
        return torch.autograd.grad(
            fn(*leaves, None), leaves, upstream.to(dtype))

    expected = grads(_written_out, torch.double)
    plain = grads(_written_out, torch.bfloat16)
    ours = grads(
        lambda *t: blockwise_attention(
            *t, block_bytes=block_bytes, fold_bias=fold_bias),
        torch.bfloat16)
    for name, a, b, e in zip('q k v bias_h bias_w'.split(), ours, plain,
                             expected):
        assert a.dtype == torch.bfloat16, name
        error, plain_error = ((t.double() - e).norm() / e.norm()
                              for t in (a, b))
        assert error <= 1.5 * plain_error, (name, error, plain_error)


@pytest.mark.parametrize('dtype,keys,padded', [
    (torch.bfloat16, 4116, 4128),  # a 64 x 64 grid and 20 prefix keys
    (torch.bfloat16, 4096, 4096),  # whole lines already
    (torch.float, 1044, 1056),  # a 32 x 32 grid and 20 prefix keys
    (torch.bfloat16, 1044, 1056),
    (torch.bfloat16, 1060, 1060),  # 28 more keys: over 1 / 64 of them
    (torch.bfloat16, 216, 216),  # a 14 x 14 window and 20 prefix keys
])
def test_pads_rows_of_logits_to_whole_cache_lines_where_that_is_cheap(
        dtype, keys, padded, monkeypatch):
    seen = []
    softmax = torch.softmax
    monkeypatch.setattr(torch, 'softmax',
                        lambda x, dim: seen.append(x.shape[-1]) or
                        softmax(x, dim))
    q = torch.randn(1, 1, 2, 8, dtype=dtype)
    kv = torch.randn(1, 1, keys, 8, dtype=dtype)
    blockwise_attention(q, kv, kv, torch.randn(1, 1, 2, 2),
                        torch.randn(1, 1, 2, 2), fold_bias=False)
    assert set(seen) == {padded}


@pytest.mark.parametrize('dtype,grid,head_width,folds', [
    (torch.bfloat16, (3, 4), 14, True),
    (torch.bfloat16, (3, 4), 13, False),
    (torch.bfloat16, (14, 14), 64, True),
    (torch.bfloat16, (64, 64), 64, False),
    (torch.float, (14, 14), 64, False),
])
def test_folds_the_bias_in_bf16_where_the_grid_is_small(
        dtype, grid, head_width, folds, monkeypatch):
    """By default the bias goes into the dot product in bf16 where kh + kw
    is at most half the head width (SAM's windows), else it is added."""
    calls = []
    fold = module._fold_bias
    monkeypatch.setattr(module, '_fold_bias',
                        lambda *a: calls.append(a) or fold(*a))
    kh, kw = grid
    q = torch.randn(1, 1, 5, head_width, dtype=dtype)
    kv = torch.randn(1, 1, kh * kw, head_width, dtype=dtype)
    blockwise_attention(q, kv, kv, torch.randn(1, 1, 5, kh),
                        torch.randn(1, 1, 5, kw))
    assert bool(calls) == folds
