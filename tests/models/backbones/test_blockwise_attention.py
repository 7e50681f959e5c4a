"""Blockwise attention against the attention matrix written out, and its
hand-written backward pass against numerical gradients."""
import pytest
import torch

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
    prefix_len = k.shape[2] - KH * KW
    grid = (bias_h[..., :, None] + bias_w[..., None, :]).flatten(-2)
    prefix = torch.zeros(*grid.shape[:-1], prefix_len, dtype=grid.dtype)
    if prefix_bias is not None:
        prefix = prefix + prefix_bias
    bias = torch.cat([prefix, grid], dim=-1)
    return torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1) @ v


@pytest.mark.parametrize('prefix_len,prefix_shape', [
    (0, None),
    (2, None),
    (2, (B, 1, 1, 1)),  # a gate per sample, every prefix key and head
    (2, (1, HEADS, 1, 2)),  # a bias per head and key
])
@pytest.mark.parametrize('block_elements', [1, 100, 2**20])
def test_equals_the_attention_matrix_written_out(prefix_len, prefix_shape,
                                                 block_elements):
    inputs = _inputs(prefix_len=prefix_len, prefix_shape=prefix_shape)
    ours = blockwise_attention(*inputs, block_elements=block_elements)
    expected = _written_out(*inputs)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    leaves = [t for t in inputs if t is not None]
    for name, a, b in zip('q k v bias_h bias_w prefix_bias'.split(),
                          torch.autograd.grad(ours, leaves, upstream),
                          torch.autograd.grad(expected, leaves, upstream)):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, msg=name)


def test_backward_passes_gradcheck():
    inputs = _inputs(queries=4, prefix_shape=(B, 1, 1, 1))
    assert torch.autograd.gradcheck(
        lambda *t: blockwise_attention(*t, block_elements=60), inputs)


def test_frozen_keys_get_no_gradient():
    q, k, v, bias_h, bias_w, _ = _inputs()
    k, v = k.detach(), v.detach()
    blockwise_attention(q, k, v, bias_h, bias_w).sum().backward()
    assert k.grad is None and v.grad is None
    assert q.grad is not None and bias_h.grad is not None


def test_bf16_autocast_keeps_gradients_in_their_dtypes():
    inputs = _inputs(prefix_shape=(B, 1, 1, 1), dtype=torch.float)
    q, rest = inputs[0], inputs[1:]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = blockwise_attention(q.bfloat16(), *rest)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    expected = _written_out(*inputs)
    torch.testing.assert_close(out.float(), expected, atol=0.05, rtol=0.05)
    for t in inputs:
        assert t.grad.dtype == torch.float and t.grad.isfinite().all()
