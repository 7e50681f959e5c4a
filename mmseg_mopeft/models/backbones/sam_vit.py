"""SAM's ViT image encoder as an mmseg backbone.

Parameter names equal the ``image_encoder.*`` keys of the official SAM
checkpoints, so those files load without conversion. Blocks expose hook points
for parameter-efficient tuners (see ``models/peft/method.py``); with no tuner
attached the forward pass equals ``segment_anything``'s ``ImageEncoderViT``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.image_encoder import PatchEmbed, get_rel_pos
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..peft import BlockContext, PEFTTuner, build_tuners
from ..peft.tuner import State
from ..utils import (OneDNNLinear, load_sam_state_dict,
                     load_state_dict_checked, resize_abs_pos_embed,
                     resize_rel_pos)
from ..utils.peft_checkpoint import fill_missing_from_base
from .blockwise_attention import BLOCK_BYTES, blockwise_attention, grid_codes

# embed_dims, depth, num_heads, global_attn_indexes (from segment_anything's
# build_sam), plus a tiny arch for tests.
ARCH_SETTINGS: Dict[str, dict] = {
    'vit-b': dict(embed_dims=768, depth=12, num_heads=12,
                  global_attn_indexes=(2, 5, 8, 11)),
    'vit-l': dict(embed_dims=1024, depth=24, num_heads=16,
                  global_attn_indexes=(5, 11, 17, 23)),
    'vit-h': dict(embed_dims=1280, depth=32, num_heads=16,
                  global_attn_indexes=(7, 15, 23, 31)),
    'tiny': dict(embed_dims=64, depth=4, num_heads=2,
                 global_attn_indexes=(1, 3)),
}


def _expand_state(state: State, repeats: int) -> State:
    """Repeat per-sample tuner state for the windows of each sample."""
    if repeats == 1:
        return state
    return {k: v.repeat_interleave(repeats, dim=0) for k, v in state.items()}


class Attention(nn.Module):
    """Multi-head attention with SAM's decomposed relative position bias,
    over the whole token grid or over non-overlapping windows.

    SAM adds ``rel_h[q, row(k)] + rel_w[q, col(k)]`` to the logits and
    stores the N x N attention matrix. We compute the same logits in one of
    three ways, none of which keeps anything N x N for the backward pass:

    - when gradients flow on a GPU, the bias is folded into the dot product
      of ``scaled_dot_product_attention``'s fused kernels: queries gain the
      features ``rel_h[q, :]`` and ``rel_w[q, :]``, keys the one-hot codes
      of their row and column, at the price of a wider dot product (3x at
      1024 px in global blocks);
    - when gradients flow on a CPU (``blockwise_devices``), a block of
      queries at a time at SAM's head width, recomputed in the backward
      pass (``blockwise_attention``), which runs faster there than the
      fused CPU kernel at the wider width;
    - without gradients (inference, frozen blocks), the bias is an
      additive mask of the fused kernels, and the dot product keeps SAM's
      head width.

    Masks hold at most ``mask_elements`` entries and blocks of logits
    ``blockwise_bytes``, so that their memory stays bounded.

    Windowed, the q/k/v and output projections run on the image tokens
    only; window padding gets the keys and values of a zero token (the qkv
    bias), which is what SAM computes for its zero-padded tokens, and asks
    no queries, whose answers SAM crops away.
    """

    mask_elements = 2**23  # bias-mask chunk: 32 MB in fp32
    blockwise_bytes = BLOCK_BYTES  # a block of logits in CPU training
    blockwise_devices = ('cpu', )

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool,
                 input_size: Tuple[int, int], window_size: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.window_size = window_size
        self.qkv = OneDNNLinear(dim, dim * 3, bias=qkv_bias)
        self.proj = OneDNNLinear(dim, dim)
        self.rel_pos_h = nn.Parameter(
            torch.zeros(2 * input_size[0] - 1, self.head_dim))
        self.rel_pos_w = nn.Parameter(
            torch.zeros(2 * input_size[1] - 1, self.head_dim))

    def forward(self,
                x: Tensor,
                tuner: Optional[PEFTTuner] = None,
                state: Optional[State] = None) -> Tensor:
        """(B, H, W, C) normalised tokens -> (B, H, W, C) attention output."""
        b, h, w, c = x.shape
        if self.window_size and tuner is not None and tuner.pads_windows:
            # a method needs SAM's order: pad with zero tokens, then project
            x = F.pad(x, (0, 0, 0, -w % self.window_size, 0,
                          -h % self.window_size))
        # 2-D, so that tuners can add to it in place (see PEFTMethod.qkv)
        qkv = self.qkv(x.reshape(-1, c))
        if tuner is not None:
            qkv = tuner.qkv(x, qkv, state)
        qkv = qkv.view(*x.shape[:3], -1)
        if self.window_size:
            out = self._attend_windows(qkv, (h, w), tuner, state)
        else:
            q, k, v = qkv.reshape(b, h * w, 3, self.num_heads,
                                  -1).permute(2, 0, 3, 1, 4).unbind(0)
            out = self._attend(q, k, v, (h, w), (h, w), tuner, state)
            out = out.transpose(1, 2).reshape(b, h, w, c)
        return self.proj(out)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, q_hw: Tuple[int, int],
                k_hw: Tuple[int, int], tuner: Optional[PEFTTuner],
                state: Optional[State]) -> Tensor:
        """Queries (B, heads, Nq, C) at the first ``q_hw`` rows and columns of
        the key grid ``k_hw``, attending to it and the tuner's prefix."""
        prefix = tuner.prefix(state, q.shape[0]) if tuner is not None \
            else None
        grads = (q, k, v, self.rel_pos_h, self.rel_pos_w) + (prefix or ())
        if torch.is_grad_enabled() and any(
                t is not None and t.requires_grad for t in grads):
            if q.device.type in self.blockwise_devices:
                return self._attend_blockwise(q, k, v, q_hw, k_hw, prefix)
            return self._attend_widened(q, k, v, q_hw, k_hw, prefix)
        return self._attend_masked(q, k, v, q_hw, k_hw, prefix)

    def _attend_windows(self, qkv: Tensor, hw: Tuple[int, int],
                        tuner: Optional[PEFTTuner],
                        state: Optional[State]) -> Tensor:
        """Windowed attention over (B, H, W, 3C) q/k/v (H, W may include
        the window padding) -> (B, h, w, C), ``hw`` = (h, w).

        Keys and values come from every padded window. Queries of padding
        tokens would only be cropped away, so only image tokens query: the
        windows fall into up to four groups of equal query shape (whole
        windows, the right and bottom edges, the corner), one attention
        call each. Splits, not slices, cut the groups out, so that the
        backward pass concatenates gradients instead of zero-filling.
        """
        c = qkv.shape[-1] // 3
        queries, kv = qkv.split([c, 2 * c], dim=-1)
        kv = self._pad_to_windows(kv, qkv, tuner, state)
        row_bands = self._window_bands(hw[0], queries.shape[1])
        col_bands = self._window_bands(hw[1], queries.shape[2])
        rows = []
        for q_row, kv_row, (ni, qh) in zip(
                self._split(queries, row_bands, 1, keys=False),
                self._split(kv, row_bands, 1, keys=True), row_bands):
            row = [
                self._attend_window_group(q, kv_group, (ni, nj), (qh, qw),
                                          tuner, state)
                for q, kv_group, (nj, qw) in zip(
                    self._split(q_row, col_bands, 2, keys=False),
                    self._split(kv_row, col_bands, 2, keys=True), col_bands)
            ]
            rows.append(row[0] if len(row) == 1 else torch.cat(row, dim=2))
        return rows[0] if len(rows) == 1 else torch.cat(rows, dim=1)

    def _window_bands(self, length: int,
                      available: int) -> List[Tuple[int, int]]:
        """(windows, image tokens per window) of the whole windows and of
        the partly padded last one along an axis of ``length`` image tokens;
        a trailing (0, rest) band holds the ``available - length`` padding
        tokens, if q/k/v include them."""
        whole, rest = length // self.window_size, length % self.window_size
        bands = [(whole, self.window_size)] if whole else []
        if rest:
            bands.append((1, rest))
        if available > length:
            bands.append((0, available - length))
        return bands

    def _split(self, x: Tensor, bands: List[Tuple[int, int]], dim: int,
               keys: bool) -> Tuple[Tensor, ...]:
        """Cut (B, H, W, C) along ``dim`` into the bands' queries (image
        tokens) or keys and values (whole padded windows); drops a padding
        band."""
        if keys:
            sizes = [n * self.window_size for n, _ in bands if n]
        else:
            sizes = [n * tokens if n else tokens for n, tokens in bands]
        parts = x.split(sizes, dim=dim)
        return parts[:len([n for n, _ in bands if n])]

    def _attend_window_group(self, q: Tensor, kv: Tensor,
                             windows: Tuple[int, int], q_hw: Tuple[int, int],
                             tuner: Optional[PEFTTuner],
                             state: Optional[State]) -> Tensor:
        """Attention of the image tokens (B, ni * qh, nj * qw, C) of
        ``windows`` = (ni, nj) windows to their keys and values (B, ni * S,
        nj * S, 2C) -> (B, ni * qh, nj * qw, C)."""
        (ni, nj), (qh, qw) = windows, q_hw
        b, c, size = q.shape[0], q.shape[-1], self.window_size
        heads = self.num_heads
        q = q.reshape(b, ni, qh, nj, qw, heads, -1).permute(
            0, 1, 3, 5, 2, 4, 6).reshape(b * ni * nj, heads, qh * qw, -1)
        k, v = kv.reshape(b, ni, size, nj, size, 2, heads, -1).permute(
            5, 0, 1, 3, 6, 2, 4, 7).reshape(2, b * ni * nj, heads,
                                            size * size, -1).unbind(0)
        if state is not None:
            state = _expand_state(state, ni * nj)
        out = self._attend(q, k, v, q_hw, (size, size), tuner, state)
        return out.view(b, ni, nj, heads, qh, qw, -1).permute(
            0, 1, 4, 2, 5, 3, 6).reshape(b, ni * qh, nj * qw, c)

    def _pad_to_windows(self, kv: Tensor, qkv: Tensor,
                        tuner: Optional[PEFTTuner],
                        state: Optional[State]) -> Tensor:
        """Pad keys and values (B, H, W, 2C) to whole windows with those of
        a zero token (with the tuner's token-wise methods)."""
        b, h, w, c2 = kv.shape
        pad_h, pad_w = -h % self.window_size, -w % self.window_size
        if not (pad_h or pad_w):
            return kv
        fill = qkv.new_zeros(qkv.shape[-1]) if self.qkv.bias is None else \
            self.qkv.bias.to(qkv.dtype)
        if tuner is not None:
            fill = tuner.qkv_padding(fill, state, b)
        fill = fill.reshape(-1, 1, 1, qkv.shape[-1])[..., -c2:]
        if pad_w:
            kv = torch.cat([kv, fill.expand(b, h, pad_w, c2)], dim=2)
        if pad_h:
            kv = torch.cat([kv, fill.expand(b, pad_h, w + pad_w, c2)], dim=1)
        return kv

    def _rel_pos_bias(self, q: Tensor, q_hw: Tuple[int, int],
                      k_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """SAM's bias terms of queries (B, heads, Nq, C) at the first
        ``q_hw`` rows and columns of the key grid ``k_hw``: over key rows
        (B, heads, Nq, kh) and key columns (B, heads, Nq, kw)."""
        (qh, qw), (kh, kw) = q_hw, k_hw
        b, heads, n, dim = q.shape
        r_q = q.reshape(b, heads, qh, qw, dim)  # SAM uses unscaled queries
        bias_h = torch.einsum('bnhwc,hkc->bnhwk', r_q,
                              get_rel_pos(kh, kh, self.rel_pos_h)[:qh])
        bias_w = torch.einsum('bnhwc,wkc->bnhwk', r_q,
                              get_rel_pos(kw, kw, self.rel_pos_w)[:qw])
        return bias_h.reshape(b, heads, n, kh), bias_w.reshape(b, heads, n, kw)

    def _attend_widened(self, q: Tensor, k: Tensor, v: Tensor,
                        q_hw: Tuple[int, int], k_hw: Tuple[int, int],
                        prefix) -> Tensor:
        """Attention with the bias folded into wider queries and keys.
        Prefix keys get zero position codes; a logit bias per prefix key
        rides on one more feature (1 in queries). Zero features pad the
        width to a multiple of 8, which the fused kernels run faster, and
        values are padded to it: the kernels need equal widths."""
        kh, kw = k_hw
        b, heads, n, dim = q.shape
        bias_h, bias_w = self._rel_pos_bias(q, q_hw, k_hw)
        gated = prefix is not None and prefix[2] is not None
        pad = -(dim + kh + kw + gated) % 8
        codes = F.pad(grid_codes(kh, kw, k.device),
                      (0, pad + gated)).to(k.dtype)
        q_parts = [q * dim**-0.5, bias_h, bias_w]
        if pad:
            q_parts.append(q.new_zeros(b, heads, n, pad))
        if gated:
            q_parts.append(q.new_ones(b, heads, n, 1))
        q = torch.cat(q_parts, dim=-1)
        k = torch.cat([k, codes.expand(b, heads, kh * kw, -1)], dim=-1)
        if prefix is not None:
            keys, values, logit_bias = self._prefix_heads(prefix, b, heads)
            extra = k.shape[-1] - dim
            if logit_bias is None:
                keys = F.pad(keys, (0, extra))
            else:
                keys = torch.cat([
                    F.pad(keys, (0, extra - 1)),
                    logit_bias.expand(b, heads, keys.shape[2], 1)
                ], dim=-1)
            k, v = torch.cat([keys, k], dim=2), torch.cat([values, v], dim=2)
        v = F.pad(v, (0, q.shape[-1] - dim))
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
        return out[..., :dim]

    def _attend_blockwise(self, q: Tensor, k: Tensor, v: Tensor,
                          q_hw: Tuple[int, int], k_hw: Tuple[int, int],
                          prefix) -> Tensor:
        """Attention a block of queries at a time, recomputed in the
        backward pass."""
        k, v, bias_h, bias_w, prefix_bias = self._keys_and_bias(
            q, k, v, q_hw, k_hw, prefix)
        return blockwise_attention(q * q.shape[-1]**-0.5, k, v, bias_h,
                                   bias_w, prefix_bias,
                                   self.blockwise_bytes)

    def _attend_masked(self, q: Tensor, k: Tensor, v: Tensor,
                       q_hw: Tuple[int, int], k_hw: Tuple[int, int],
                       prefix) -> Tensor:
        """Attention with the bias as an additive mask, a block of queries
        at a time."""
        b, heads, n, _ = q.shape
        k, v, bias_h, bias_w, prefix_bias = self._keys_and_bias(
            q, k, v, q_hw, k_hw, prefix)
        length = k.shape[2] - bias_h.shape[-1] * bias_w.shape[-1]
        if length and prefix_bias is None:
            prefix_bias = q.new_zeros(1, 1, 1, length)
        step = max(1, self.mask_elements // (b * heads * k.shape[2]))
        outs = []
        for start in range(0, n, step):
            stop = min(start + step, n)
            mask = (bias_h[:, :, start:stop, :, None] +
                    bias_w[:, :, start:stop, None, :]).flatten(-2)
            if length:
                mask = torch.cat([
                    prefix_bias.to(mask.dtype).expand(
                        b, heads, stop - start, length), mask
                ], dim=-1)
            outs.append(
                F.scaled_dot_product_attention(
                    q[:, :, start:stop], k, v, attn_mask=mask.to(q.dtype)))
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)

    def _keys_and_bias(self, q: Tensor, k: Tensor, v: Tensor,
                       q_hw: Tuple[int, int], k_hw: Tuple[int, int], prefix):
        """Keys and values with the prefix's in front; SAM's bias terms of
        the queries (``_rel_pos_bias``), which prefix keys do not get; and
        the prefix keys' logit bias, broadcastable to (B, heads, 1, L), when
        gated, else None."""
        b, heads = q.shape[:2]
        bias_h, bias_w = self._rel_pos_bias(q, q_hw, k_hw)
        prefix_bias = None
        if prefix is not None:
            keys, values, logit_bias = self._prefix_heads(prefix, b, heads)
            k, v = torch.cat([keys, k], dim=2), torch.cat([values, v], dim=2)
            if logit_bias is not None:
                prefix_bias = logit_bias.transpose(-1, -2)
        return k, v, bias_h, bias_w, prefix_bias

    @staticmethod
    def _prefix_heads(prefix, b: int,
                      heads: int) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Prefix keys and values (B, L, C) -> (B, heads, L, C / heads);
        the logit bias per key, broadcastable to (B, heads, L, 1), or None.
        """
        keys, values, logit_bias = prefix
        length = keys.shape[1]
        keys = keys.reshape(b, length, heads, -1).transpose(1, 2)
        values = values.reshape(b, length, heads, -1).transpose(1, 2)
        return keys, values, logit_bias


class MLP(nn.Module):
    """``segment_anything``'s ``MLPBlock`` (same parameter names) on
    ``OneDNNLinear``; ``MLPBlock`` builds its ``nn.Linear`` layers itself."""

    def __init__(self, dim: int, hidden_dims: int):
        super().__init__()
        self.lin1 = OneDNNLinear(dim, hidden_dims)
        self.lin2 = OneDNNLinear(hidden_dims, dim)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(self.act(self.lin1(x)))


class Block(nn.Module):
    """Transformer block with windowed or global attention; a PEFT tuner, if
    attached, acts at the places listed in ``models/peft/method.py``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float,
                 qkv_bias: bool, window_size: int, input_size: Tuple[int,
                                                                     int]):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        attn_size = (window_size, window_size) if window_size else input_size
        self.attn = Attention(dim, num_heads, qkv_bias, attn_size,
                              window_size)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, int(dim * mlp_ratio))
        self.tuner: Optional[PEFTTuner] = None

    def forward(self, x: Tensor) -> Tensor:
        tuner = self.tuner
        if tuner is None:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        state = tuner.begin(x)
        h = tuner.run('norm1', self.norm1(x), state)
        x = x + tuner.run('attn_out', self.attn(h, tuner, state), state)
        h = tuner.run('norm2', self.norm2(x), state)
        if tuner.acts_at('mlp_hidden'):
            h = tuner.run('mlp_hidden', self.mlp.lin1(h), state)
            out = self.mlp.lin2(self.mlp.act(h))
        else:
            out = self.mlp(h)
        return x + tuner.run('ffn', out, state)


@MODELS.register_module()
class SAMViT(BaseModule):
    """SAM image encoder (ViT-B/L/H) for mmseg.

    Args:
        arch: 'vit-b', 'vit-l', 'vit-h', 'tiny', or a dict with embed_dims,
            depth, num_heads and global_attn_indexes.
        img_size: Input size the position embeddings are made for (a
            multiple of ``patch_size``). Checkpoints for another size are
            resized on load; other input sizes (multiples of ``patch_size``;
            pad with the data preprocessor's ``size_divisor``) are handled at
            run time.
        out_indices: Blocks whose outputs (B, C, H/16, W/16) are returned,
            for use with mmseg heads via a multi-level neck.
        with_neck: Append SAM's 256-channel neck output (what SAM's mask
            decoder consumes) to the outputs.
        frozen: Set ``requires_grad=False`` on all encoder weights at build
            time; PEFT modules (and backbone parameters a method trains, e.g.
            BitFit's biases) stay trainable.
        peft: PEFT methods to attach to the blocks, e.g. ``dict(lora=dict(
            rank=8), prefix=dict(length=20), adapter=dict(dim=64),
            gated=True)`` (see ``models/peft``).
        peft_blocks: Tune only these blocks with every method: 'all',
            'last_half', the first tuned block's index, or a list. Blocks
            before the first tuned one run without an autograd graph.
            Needs ``frozen=True``.
        with_cp: Recompute each block's activations in the backward pass
            (non-reentrant gradient checkpointing) to save memory.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads the
            ``image_encoder.*`` part of an official SAM checkpoint.
    """

    def __init__(self,
                 arch='vit-b',
                 img_size: int = 1024,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 window_size: int = 14,
                 out_channels: int = 256,
                 out_indices: Sequence[int] = (),
                 with_neck: bool = True,
                 frozen: bool = False,
                 peft: Optional[dict] = None,
                 peft_blocks=None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'Unknown SAM arch {arch!r}; choose from '
                                 f'{sorted(ARCH_SETTINGS)} or pass a dict.')
            arch = ARCH_SETTINGS[arch]
        if img_size % patch_size:
            raise ValueError(f'img_size={img_size} must be a multiple of '
                             f'patch_size={patch_size}.')
        dims, depth = arch['embed_dims'], arch['depth']
        self.embed_dims = dims
        self.depth = depth
        self.patch_size = patch_size
        self.with_cp = with_cp
        self.out_indices = self._check_out_indices(out_indices, depth)
        if not self.out_indices and not with_neck:
            raise ValueError('SAMViT needs out_indices or with_neck=True.')
        grid = (img_size // patch_size, img_size // patch_size)

        self.patch_embed = PatchEmbed((patch_size, patch_size),
                                      (patch_size, patch_size),
                                      in_chans=in_channels,
                                      embed_dim=dims)
        self.pos_embed = nn.Parameter(torch.zeros(1, *grid, dims))
        global_idx = set(arch['global_attn_indexes'])
        self.blocks = nn.ModuleList(
            Block(dims, arch['num_heads'], mlp_ratio, qkv_bias,
                  0 if i in global_idx else window_size, grid)
            for i in range(depth))
        self.neck = nn.Sequential(
            nn.Conv2d(dims, out_channels, 1, bias=False),
            LayerNorm2d(out_channels),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            LayerNorm2d(out_channels),
        ) if with_neck else None
        if frozen:
            self.requires_grad_(False)
        if peft_blocks is not None and not frozen:
            raise ValueError(
                f'peft_blocks={peft_blocks!r} tunes the later blocks of a '
                f'frozen encoder; with frozen=False every block trains. Set '
                f'frozen=True (or drop peft_blocks).')
        if peft is None and peft_blocks is not None:
            raise ValueError(f'peft_blocks={peft_blocks!r} needs peft=dict('
                             f'...) methods to place.')
        if peft is not None:
            self._attach_peft(peft, peft_blocks, arch['num_heads'],
                              int(dims * mlp_ratio), grid)

    @staticmethod
    def _check_out_indices(out_indices, depth: int) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        bad = [
            i for i in out_indices
            if isinstance(i, bool) or not isinstance(i, int)
            or not -depth <= i < depth
        ]
        if bad:
            raise ValueError(f'out_indices={list(out_indices)}: {bad} are '
                             f'not block indices of the {depth} blocks '
                             f'(use -{depth}..{depth - 1})')
        return tuple(sorted({i % depth for i in out_indices}))

    def _attach_peft(self, peft, peft_blocks, num_heads: int, mlp_dims: int,
                     grid: Tuple[int, int]) -> None:
        contexts = [
            BlockContext(
                index=i,
                depth=self.depth,
                dims=self.embed_dims,
                num_heads=num_heads,
                mlp_dims=mlp_dims,
                window_size=block.window_size,
                grid=grid,
                qkv_bias=block.attn.qkv.bias is not None,
                neck=self.neck is not None)
            for i, block in enumerate(self.blocks)
        ]
        own = dict(self.named_parameters())
        for block, tuner in zip(self.blocks,
                                build_tuners(peft, contexts, peft_blocks)):
            block.tuner = tuner
            for name in tuner.trained_backbone_params() if tuner else ():
                if name not in own:
                    raise ValueError(f'a PEFT method trains {name!r}, which '
                                     f'this SAMViT does not have')
                own[name].requires_grad_(True)

    @property
    def tuners(self) -> List[PEFTTuner]:
        return [b.tuner for b in self.blocks if b.tuner is not None]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        h, w = x.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(
                f'SAMViT input {h}x{w} is not a multiple of the patch size '
                f'{self.patch_size}: the patch embedding would drop the '
                f'border. Pad the input as SAM does, e.g. the data '
                f'preprocessor\'s size=(1024, 1024) or size_divisor=16.')
        # The patch embedding returns a permuted view of its convolution;
        # the residual additions keep that layout, so without a contiguous
        # copy every LayerNorm copies its input, forward and backward.
        x = self.patch_embed(x).contiguous()
        x = x + resize_abs_pos_embed(self.pos_embed, x.shape[1:3])
        outs = []
        for i, block in enumerate(self.blocks):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if i in self.out_indices:
                outs.append(x.permute(0, 3, 1, 2))
        if self.neck is not None:
            outs.append(self.neck(x.permute(0, 3, 1, 2)))
        self._collect_losses()
        return tuple(outs)

    def _collect_losses(self) -> None:
        """Sum the methods' auxiliary losses over blocks (training only)."""
        losses: Dict[str, Tensor] = {}
        for tuner in self.tuners:
            for key, value in tuner.pop_losses().items():
                losses[key] = losses[key] + value if key in losses else value
        if losses and self.training:
            if getattr(self, 'aux_losses', None):
                raise RuntimeError(
                    f'SAMViT: the PEFT losses {sorted(self.aux_losses)} of '
                    f'the previous forward were never added to a training '
                    f'loss. Use a segmentor that collects them (type='
                    f"'PEFTEncoderDecoder' for mmseg heads, SAMDetector for "
                    f'FAIR-1M) or call pop_aux_losses().')
            self.aux_losses = losses
        else:
            self.aux_losses = {}

    def pop_aux_losses(self) -> Dict[str, Tensor]:
        """The PEFT methods' auxiliary losses of the last training forward
        (e.g. Conv-LoRA's ``loss_conv_lora_balance``), handed over once."""
        losses, self.aux_losses = getattr(self, 'aux_losses', {}), {}
        return losses

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """(layer depth, number of layers) of a parameter for layer-wise
        learning-rate decay (mmpretrain's convention): the patch and position
        embeddings are layer 0, block i is layer i + 1, the neck is last."""
        num_layers = self.depth + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith(('patch_embed', 'pos_embed')):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers

    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            self.load_sam_checkpoint(cfg['checkpoint'],
                                     cfg.get('prefix', 'image_encoder.'))
            self._is_init = True
        else:
            super().init_weights()

    def load_sam_checkpoint(self, filename: str,
                            prefix: str = 'image_encoder.'):
        """Load the encoder part of a whole-SAM checkpoint file."""
        state_dict = {
            k[len(prefix):]: v
            for k, v in load_sam_state_dict(filename).items()
            if k.startswith(prefix)
        }
        if not state_dict:
            raise KeyError(f'{filename} has no {prefix!r} keys; expected an '
                           f'official SAM checkpoint.')
        self.adapt_state_dict(state_dict)
        load_state_dict_checked(
            self,
            state_dict,
            filename,
            key_prefix=prefix,
            allow_missing=lambda k: '.tuner.' in k)

    def adapt_state_dict(self, state_dict: Dict[str, Tensor], prefix=''):
        """Resize position parameters made for another ``img_size`` in place.

        Only the spatial sizes are adapted; a channel mismatch is left for the
        caller to report as a wrong architecture.
        """
        key = prefix + 'pos_embed'
        pos = state_dict.get(key)
        grid = tuple(self.pos_embed.shape[1:3])
        if pos is not None and pos.shape[-1] == self.pos_embed.shape[-1]:
            if tuple(pos.shape[1:3]) != grid:
                # Said once per load: a config whose img_size differs from
                # the checkpoint's changes the model, which a user should see.
                print_log(
                    f'{key}: resizing position embeddings made for a '
                    f'{pos.shape[1]}x{pos.shape[2]} grid to this model\'s '
                    f'{grid[0]}x{grid[1]} (img_size='
                    f'{grid[0] * self.patch_size}).',
                    logger='current')
            state_dict[key] = resize_abs_pos_embed(pos, grid)
        for i, block in enumerate(self.blocks):
            for name in ('rel_pos_h', 'rel_pos_w'):
                key = f'{prefix}blocks.{i}.attn.{name}'
                own = getattr(block.attn, name)
                rel = state_dict.get(key)
                if rel is not None and rel.shape[-1] == own.shape[-1]:
                    state_dict[key] = resize_rel_pos(rel, own.shape[0])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A PEFT checkpoint holds trained weights only: the rest comes from
        # the base SAM file it records.
        fill_missing_from_base(self, state_dict, prefix)
        # Any load path (init_cfg, load_from, resume) accepts other sizes.
        self.adapt_state_dict(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
