"""SAM's attention with its decomposed relative-position bias, computed a
block of queries at a time, for training on CPUs.

To keep nothing N x N for the backward pass with PyTorch's fused attention
kernels, ``Attention`` folds SAM's bias into wider queries and keys (3x the
dot-product width in global blocks at 1024 px), and on CPUs the fused
kernel gains little from bf16. Here the logits of a block of queries are
two plain matmuls at SAM's head width plus the bias, and the backward pass
recomputes them block by block from the saved inputs and output, as fused
kernels do: nothing N x N is kept. On this project's CPU that takes 0.6x
the fused kernel's time in fp32 and 0.5x in bf16 for a global block at
1024 px, forward and backward (``benchmark_attention.py``); in windows it
gains nothing.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

# a block of logits, 16 MB in fp32: the fastest of 4 to 32 MB at 1024 px on
# this project's CPU; the backward pass holds up to three
BLOCK_ELEMENTS = 2**22


def blockwise_attention(q: Tensor,
                        k: Tensor,
                        v: Tensor,
                        bias_h: Tensor,
                        bias_w: Tensor,
                        prefix_bias: Optional[Tensor] = None,
                        block_elements: int = BLOCK_ELEMENTS) -> Tensor:
    """``softmax(q k^T + bias) v`` for scaled queries (B, heads, Nq, C).

    Keys and values (B, heads, L + kh * kw, C) are ``L`` prefix keys followed
    by a kh x kw grid in row-major order; the grid keys get
    ``bias_h[..., q, row] + bias_w[..., q, col]`` from ``bias_h`` (B, heads,
    Nq, kh) and ``bias_w`` (B, heads, Nq, kw), the prefix keys
    ``prefix_bias`` (broadcastable to (B, heads, 1, L)) or nothing. Logits
    are built for at most ``block_elements`` entries at a time.
    """
    b, heads, n, _ = q.shape
    step = max(1, block_elements // (b * heads * k.shape[2]))
    dtype = q.dtype
    args = [t.to(dtype) for t in (k, v, bias_h, bias_w)]
    if prefix_bias is not None:
        prefix_bias = prefix_bias.to(dtype)
    return _BlockwiseAttention.apply(q, *args, prefix_bias, step)


def _logits(q: Tensor, k: Tensor, bias_h: Tensor, bias_w: Tensor,
            prefix_bias: Optional[Tensor]) -> Tensor:
    """Biased logits (B, heads, m, L + kh * kw) of a block of m queries."""
    b, heads, m, _ = q.shape
    kh, kw = bias_h.shape[-1], bias_w.shape[-1]
    logits = torch.matmul(q, k.transpose(-1, -2))
    prefix, grid = logits.split([logits.shape[-1] - kh * kw, kh * kw], -1)
    grid = grid.view(b, heads, m, kh, kw)  # a view: adds in place
    grid.add_(bias_h.unsqueeze(-1)).add_(bias_w.unsqueeze(-2))
    if prefix_bias is not None:
        prefix.add_(prefix_bias)
    return logits


class _BlockwiseAttention(torch.autograd.Function):

    @staticmethod
    def forward(ctx, q, k, v, bias_h, bias_w, prefix_bias, step):
        with torch.autocast(q.device.type, enabled=False):
            out = torch.empty_like(q)
            for start in range(0, q.shape[2], step):
                rows = slice(start, start + step)
                probs = torch.softmax(
                    _logits(q[:, :, rows], k, bias_h[:, :, rows],
                            bias_w[:, :, rows], prefix_bias), -1)
                out[:, :, rows] = torch.matmul(probs, v)
        ctx.save_for_backward(q, k, v, bias_h, bias_w, prefix_bias, out)
        ctx.step = step
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, bias_h, bias_w, prefix_bias, out = ctx.saved_tensors
        with torch.autocast(q.device.type, enabled=False):
            grads = _backward(q, k, v, bias_h, bias_w, prefix_bias, out,
                              grad_out.to(q.dtype), ctx.step)
        return grads + (None, )


def _backward(q: Tensor, k: Tensor, v: Tensor, bias_h: Tensor,
              bias_w: Tensor, prefix_bias: Optional[Tensor], out: Tensor,
              grad_out: Tensor, step: int) -> Tuple[Optional[Tensor], ...]:
    """Gradients of q, k, v, bias_h, bias_w and prefix_bias, with the
    probabilities recomputed a block of queries at a time. Sums over
    blocks (keys, values, prefix bias) accumulate in fp32 at least."""
    b, heads, n, _ = q.shape
    kh, kw = bias_h.shape[-1], bias_w.shape[-1]
    prefix_len = k.shape[2] - kh * kw
    grad_q, grad_bias_h, grad_bias_w = (torch.empty_like(t)
                                        for t in (q, bias_h, bias_w))
    acc = torch.promote_types(q.dtype, torch.float)
    grad_k, grad_v = (t.new_zeros(t.shape, dtype=acc) for t in (k, v))
    grad_prefix = q.new_zeros(b, heads, 1, prefix_len, dtype=acc)
    # d softmax: dS = P * (dP - rowsum(dO * O))
    delta = (grad_out.to(acc) * out.to(acc)).sum(-1, keepdim=True)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        q_rows, grad_rows = q[:, :, rows], grad_out[:, :, rows]
        probs = torch.softmax(
            _logits(q_rows, k, bias_h[:, :, rows], bias_w[:, :, rows],
                    prefix_bias), -1)
        grad_v += torch.matmul(probs.transpose(-1, -2), grad_rows)
        grad_logits = torch.matmul(grad_rows, v.transpose(-1, -2)).to(acc)
        grad_logits = grad_logits.sub_(delta[:, :, rows]).mul_(probs)
        del probs  # at most three blocks of logits live at a time
        grad_logits = grad_logits.to(q.dtype)
        grad_q[:, :, rows] = torch.matmul(grad_logits, k)
        grad_k += torch.matmul(grad_logits.transpose(-1, -2), q_rows)
        prefix, grid = grad_logits.split([prefix_len, kh * kw], -1)
        grid = grid.unflatten(-1, (kh, kw))
        grad_bias_h[:, :, rows] = grid.sum(-1)
        grad_bias_w[:, :, rows] = grid.sum(-2)
        grad_prefix += prefix.sum(-2, keepdim=True)
    grad_prefix_bias = None
    if prefix_bias is not None:
        grad_prefix_bias = grad_prefix.sum_to_size(prefix_bias.shape).to(
            prefix_bias.dtype)
    return (grad_q, grad_k.to(k.dtype), grad_v.to(v.dtype), grad_bias_h,
            grad_bias_w, grad_prefix_bias)
