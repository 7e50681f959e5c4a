"""SAM's attention with its decomposed relative-position bias, computed a
block of queries at a time, for training on CPUs.

To keep nothing N x N for the backward pass with PyTorch's fused attention
kernels, ``Attention`` folds SAM's bias into wider queries and keys (3x the
dot-product width in global blocks at 1024 px), and on CPUs the fused
kernel gains little from bf16. Here the logits of a block of queries are
a matmul at SAM's head width plus the bias, and the backward pass
recomputes them block by block from the saved inputs and output, as fused
kernels do: nothing N x N is kept. On this project's CPU, forward and
backward of a global block at 1024 px take 0.66x the fused kernel's time
in fp32 and 0.43x in bf16 (``benchmark_attention.py``).

In bf16, small windows fold the bias into the matmul instead (queries
gain ``bias_h`` and ``bias_w``, keys one-hot codes of their row and
column). PyTorch's CPU adds that broadcast over rows of 14 bf16 columns
took 8x the logits' matmul in SAM's 14 x 14 windows; widened from 64 to
92 features, the matmul does the adds, and the windows' forward and
backward take 0.6x the time. In fp32 the adds are fast, and the wider
matmul took 1.15x the time.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# a block of logits: of 4 to 32 MB, 16 MB was the fastest at 1024 px on this
# project's CPU in fp32 and in bf16; the backward pass holds up to two
BLOCK_BYTES = 2**24
# rows of logits are padded to whole 64-byte lines where that adds at most
# 1/64 more keys: on machine C (README), the bf16 logits of 4116 keys (a
# 64 x 64 grid and 20 prefix keys) took twice the time of 4128 keys', and
# MoPEFT's bf16 training step at 1024 px 0.92x the time. In 14 x 14 windows,
# padding 216 keys made attention slower.
ROW_BYTES = 64
MAX_PADDING = 1 / 64  # of the keys


def blockwise_attention(q: Tensor,
                        k: Tensor,
                        v: Tensor,
                        bias_h: Tensor,
                        bias_w: Tensor,
                        prefix_bias: Optional[Tensor] = None,
                        block_bytes: int = BLOCK_BYTES,
                        fold_bias: Optional[bool] = None) -> Tensor:
    """``softmax(q k^T + bias) v`` for scaled queries (B, heads, Nq, C).

    Keys and values (B, heads, L + kh * kw, C) are ``L`` prefix keys followed
    by a kh x kw grid in row-major order; the grid keys get
    ``bias_h[..., q, row] + bias_w[..., q, col]`` from ``bias_h`` (B, heads,
    Nq, kh) and ``bias_w`` (B, heads, Nq, kw), the prefix keys
    ``prefix_bias`` (broadcastable to (B, heads, 1, L)) or nothing. Logits
    are built ``block_bytes`` at most at a time, in the queries' dtype.
    ``fold_bias`` puts the bias into the dot product; by default in bf16
    and fp16 where ``kh + kw`` is at most half the head width.
    """
    dtype = q.dtype
    k, v, bias_h, bias_w = (t.to(dtype) for t in (k, v, bias_h, bias_w))
    if prefix_bias is not None:
        prefix_bias = prefix_bias.to(dtype)
    k, v, prefix_bias = _align_keys(k, v, prefix_bias,
                                    bias_h.shape[-1] * bias_w.shape[-1])
    if fold_bias is None:
        fold_bias = dtype.itemsize < 4 and (
            bias_h.shape[-1] + bias_w.shape[-1] <= q.shape[-1] // 2)
    if fold_bias:
        q, k = _fold_bias(q, k, bias_h, bias_w, prefix_bias)
        bias_h = bias_w = prefix_bias = None
    b, heads, n, _ = q.shape
    step = max(1, block_bytes // (b * heads * k.shape[2] * dtype.itemsize))
    return _BlockwiseAttention.apply(q, k, v, bias_h, bias_w, prefix_bias,
                                     step)


def grid_codes(kh: int, kw: int, device) -> Tensor:
    """(kh * kw, kh + kw): the one-hot row and column of each key of a
    kh x kw grid in row-major order; against them, query features
    ``bias_h`` and ``bias_w`` add SAM's bias to the dot product."""
    index = torch.arange(kh * kw, device=device)
    return torch.cat([F.one_hot(index // kw, kh),
                      F.one_hot(index % kw, kw)], dim=1)


def _align_keys(k: Tensor, v: Tensor, prefix_bias: Optional[Tensor],
                grid_len: int) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Keys and values with zero prefix keys in front, whose bias is the
    dtype's minimum (no weight after the softmax), so that a row of logits
    fills whole ``ROW_BYTES`` lines; unchanged where that would take more
    than ``MAX_PADDING`` of the keys."""
    keys = k.shape[2]
    pad = -keys % (ROW_BYTES // k.dtype.itemsize)
    if not pad or pad > keys * MAX_PADDING:
        return k, v, prefix_bias
    k, v = (F.pad(t, (0, 0, pad, 0)) for t in (k, v))
    prefix_len = keys - grid_len
    if prefix_bias is None:
        prefix_bias = k.new_zeros(1, 1, 1, prefix_len)
    prefix_bias = prefix_bias.expand(*prefix_bias.shape[:-1], prefix_len)
    fill = torch.finfo(k.dtype).min
    prefix_bias = torch.cat([
        prefix_bias.new_full((*prefix_bias.shape[:-1], pad), fill),
        prefix_bias
    ], dim=-1)
    return k, v, prefix_bias


def _fold_bias(q: Tensor, k: Tensor, bias_h: Tensor, bias_w: Tensor,
               prefix_bias: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """Queries and keys whose dot product includes the bias: queries gain
    ``bias_h``, ``bias_w`` (and a 1 for the prefix bias), grid keys the
    one-hot codes of their row and column (prefix keys zeros, and their
    bias)."""
    b, heads, keys, _ = k.shape
    kh, kw = bias_h.shape[-1], bias_w.shape[-1]
    prefix_len = keys - kh * kw
    codes = grid_codes(kh, kw, k.device).to(k.dtype)
    codes = F.pad(codes, (0, 0, prefix_len, 0))  # zeros for prefix keys
    q_parts = [q, bias_h, bias_w]
    k_parts = [k, codes.expand(b, heads, keys, kh + kw)]
    if prefix_bias is not None:
        q_parts.append(q.new_ones(*q.shape[:3], 1))
        k_parts.append(
            F.pad(prefix_bias.expand(b, heads, 1, prefix_len),
                  (0, kh * kw)).transpose(-1, -2))
    return torch.cat(q_parts, dim=-1), torch.cat(k_parts, dim=-1)


def _logits(q: Tensor, k: Tensor, bias_h: Optional[Tensor],
            bias_w: Optional[Tensor], prefix_bias: Optional[Tensor]) -> Tensor:
    """Biased logits (B, heads, m, L + kh * kw) of a block of m queries;
    without ``bias_h`` and ``bias_w`` (folded), the plain dot products."""
    logits = torch.matmul(q, k.transpose(-1, -2))
    if bias_h is None:
        return logits
    b, heads, m, _ = q.shape
    kh, kw = bias_h.shape[-1], bias_w.shape[-1]
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
            out = q.new_empty(*q.shape[:3], v.shape[-1])
            for start in range(0, q.shape[2], step):
                rows = slice(start, start + step)
                probs = torch.softmax(
                    _logits(q[:, :, rows], k, _rows(bias_h, rows),
                            _rows(bias_w, rows), prefix_bias), -1)
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


def _rows(t: Optional[Tensor], rows: slice) -> Optional[Tensor]:
    return None if t is None else t[:, :, rows]


def _backward(q: Tensor, k: Tensor, v: Tensor, bias_h: Optional[Tensor],
              bias_w: Optional[Tensor], prefix_bias: Optional[Tensor],
              out: Tensor, grad_out: Tensor,
              step: int) -> Tuple[Optional[Tensor], ...]:
    """Gradients of q, k, v, bias_h, bias_w and prefix_bias, with the
    probabilities recomputed a block of queries at a time. Sums over
    blocks (keys, values, prefix bias) accumulate in fp32 at least; the
    logits' gradient stays in the inputs' dtype, to which the matmul giving
    ``dP`` rounds already (in bf16, casting it to fp32 and back took a
    third of the backward pass's time)."""
    b, heads, n, _ = q.shape
    grid_len = 0 if bias_h is None else bias_h.shape[-1] * bias_w.shape[-1]
    prefix_len = k.shape[2] - grid_len
    grad_q = torch.empty_like(q)
    grad_bias_h = grad_bias_w = grad_prefix_bias = None
    if bias_h is not None:
        grad_bias_h, grad_bias_w = map(torch.empty_like, (bias_h, bias_w))
    acc = torch.promote_types(q.dtype, torch.float)
    grad_k, grad_v = (t.new_zeros(t.shape, dtype=acc) for t in (k, v))
    if prefix_bias is not None:
        grad_prefix = q.new_zeros(b, heads, 1, prefix_len, dtype=acc)
    # d softmax: dS = P * (dP - rowsum(dO * O))
    delta = (grad_out.to(acc) * out.to(acc)).sum(-1, keepdim=True)
    delta = delta.to(q.dtype)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        q_rows, grad_rows = q[:, :, rows], grad_out[:, :, rows]
        probs = torch.softmax(
            _logits(q_rows, k, _rows(bias_h, rows), _rows(bias_w, rows),
                    prefix_bias), -1)
        grad_v += torch.matmul(probs.transpose(-1, -2), grad_rows)
        grad_logits = torch.matmul(grad_rows, v.transpose(-1, -2))
        grad_logits = grad_logits.sub_(delta[:, :, rows]).mul_(probs)
        del probs  # at most two blocks of logits live at a time
        grad_q[:, :, rows] = torch.matmul(grad_logits, k)
        grad_k += torch.matmul(grad_logits.transpose(-1, -2), q_rows)
        prefix, grid = grad_logits.split([prefix_len, grid_len], -1)
        if bias_h is not None:
            grid = grid.unflatten(-1, bias_h.shape[-1:] + bias_w.shape[-1:])
            grad_bias_h[:, :, rows] = grid.sum(-1)
            grad_bias_w[:, :, rows] = grid.sum(-2)
        if prefix_bias is not None:
            grad_prefix += prefix.sum(-2, keepdim=True, dtype=acc)
    if prefix_bias is not None:
        grad_prefix_bias = grad_prefix.sum_to_size(prefix_bias.shape).to(
            prefix_bias.dtype)
    return (grad_q, grad_k.to(k.dtype), grad_v.to(v.dtype), grad_bias_h,
            grad_bias_w, grad_prefix_bias)
