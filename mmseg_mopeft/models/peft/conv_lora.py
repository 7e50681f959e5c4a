"""Conv-LoRA (Zhong et al., ICLR 2024): LoRA with a mixture of convolution
experts in its bottleneck, on the fused q/k/v projection.

The tokens' rank-r bottleneck ``x A^T`` is read as an r-channel map. Expert i
(i = 1..E) resizes it by a factor i (bicubic), applies a 3x3 convolution
r -> r and GELU, and resizes back; a noisy top-1 gate (Shazeer et al., 2017)
on the map's spatial mean picks one expert per map. The chosen expert's
output is added to the bottleneck (the gate value does not scale it), then
``B`` (zero-initialised) and ``alpha / r`` give the q/k/v update. The gate's
load-balancing loss, ``loss_coef * (cv^2(importance) + cv^2(load))``, is
reported as ``loss_conv_lora_balance`` times ``loss_weight``.

Details follow AutoGluon AutoMM's reference: zero-initialised gate weights,
experts' biases zeroed, noise only in training, q, k and v sharing one
bottleneck. Its SAM runs the projection after window partition, so in
windowed blocks each window (padding included) is a map of its own with its
own expert: ``per_window=True`` (default). ``per_window=False`` convolves the
whole token grid instead (window padding then gets no Conv-LoRA update).
The reference's exp/log round trip when combining experts is the identity
for top-1 gating and is left out. Its semantic-segmentation preset runs
rank 3 with alpha 32 (scale 10.7) on ViT-H; our configs use rank 8 with
alpha = rank (scale 1), LoRA's setting in the MoPEFT comparison.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gates import gate_scale
from .lora import check_targets
from .method import (PEFT_METHODS, BlockContext, PEFTMethod, check_int,
                     check_positive)


def cv_squared(x: Tensor) -> Tensor:
    """Squared coefficient of variation (0 for a single value)."""
    x = x.float()
    if x.numel() == 1:
        return x.new_zeros(())
    return x.var() / (x.mean()**2 + 1e-10)


class NoisyTop1Gate(nn.Module):
    """Picks one expert per map; returns (expert index (N, ), balance loss).

    ``load`` in training is the probability that each expert stays on top
    under fresh noise (differentiable); otherwise the count of maps sent to
    it. ``importance`` is the summed gate values, 1 per map for top-1.
    """

    def __init__(self, rank: int, experts: int, noisy: bool = True):
        super().__init__()
        self.noisy = noisy
        self.w_gate = nn.Parameter(torch.zeros(rank, experts))
        self.w_noise = nn.Parameter(torch.zeros(rank, experts))

    def forward(self, pooled: Tensor):
        experts = self.w_gate.shape[1]
        clean = pooled @ self.w_gate
        noisy = self.noisy and self.training and experts > 1
        if noisy:
            std = F.softplus(pooled @ self.w_noise) + 1e-2
            logits = clean + torch.randn_like(clean) * std
        else:
            logits = clean
        top, index = logits.topk(min(2, experts), dim=1)
        choice = index[:, 0]
        gates = F.one_hot(choice, experts).to(logits.dtype)
        # softmax over the single kept logit: 1, with (zero) gradient
        gates = gates * torch.softmax(top[:, :1], dim=1)
        if noisy:
            normal = torch.distributions.Normal(0.0, 1.0)
            in_top = logits > top[:, 1:2]
            load = torch.where(in_top,
                               normal.cdf((clean - top[:, 1:2]) / std),
                               normal.cdf((clean - top[:, :1]) / std)).sum(0)
        else:
            load = (gates > 0).sum(0)
        return choice, cv_squared(gates.sum(0)) + cv_squared(load)


@PEFT_METHODS.register_module(name='conv_lora')
class ConvLoRA(PEFTMethod):
    cannot_fold = 'its convolution experts act between A and B'
    token_wise = False

    def __init__(self,
                 ctx: BlockContext,
                 rank: int = 8,
                 alpha: Optional[float] = None,
                 targets: Sequence[str] = ('q', 'k', 'v'),
                 experts: int = 8,
                 per_window: bool = True,
                 noisy_gating: bool = True,
                 loss_coef: float = 1e-2,
                 loss_weight: float = 1.0):
        super().__init__(ctx)
        dims = ctx.dims
        check_int('conv_lora.rank', rank, 1, dims)
        check_int('conv_lora.experts', experts, 1, None)
        if alpha is not None:
            check_positive('conv_lora.alpha', alpha)
        check_positive('conv_lora.loss_coef', loss_coef)
        check_positive('conv_lora.loss_weight', loss_weight)
        for name, flag in (('per_window', per_window),
                           ('noisy_gating', noisy_gating)):
            if not isinstance(flag, bool):
                raise ValueError(f'peft.conv_lora.{name}={flag!r}: must be '
                                 f'True or False')
        self.slots = check_targets('conv_lora', targets)
        self.rank = rank
        self.scaling = (alpha if alpha is not None else rank) / rank
        self.per_window = per_window and ctx.windowed
        self.sees_window_padding = self.per_window
        self.loss_scale = loss_coef * loss_weight
        self.lora_A = nn.Parameter(torch.empty(rank, dims))
        self.lora_B = nn.Parameter(torch.zeros(len(targets), dims, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.gate = NoisyTop1Gate(rank, experts, noisy_gating)
        self.experts = nn.ModuleList()
        for _ in range(experts):
            conv = nn.Conv2d(rank, rank, 3, padding=1)
            nn.init.zeros_(conv.bias)
            self.experts.append(nn.Sequential(conv, nn.GELU()))

    @classmethod
    def dataset_options(cls, num_classes: int) -> dict:
        # the paper weighs the balance loss 1 (binary) or 2 (multi-class)
        return dict(loss_weight=1.0 if num_classes <= 2 else 2.0)

    def run_expert(self, i: int, maps: Tensor) -> Tensor:
        """Expert i (0-based, factor i + 1) on (N, r, h, w) maps."""
        size = maps.shape[-2:]
        if i:
            maps = F.interpolate(maps, scale_factor=i + 1, mode='bicubic')
        out = self.experts[i](maps)
        if i:
            out = F.interpolate(out, size=size, mode='bicubic')
        return out

    def mix(self, maps: Tensor) -> Tensor:
        """Bottleneck maps (N, r, h, w) plus their chosen expert's output."""
        choice, loss = self.gate(maps.mean(dim=(2, 3)))
        if self.training:
            self.losses = dict(loss_conv_lora_balance=loss * self.loss_scale)
        out = torch.zeros_like(maps)
        if torch.compiler.is_exporting():
            # a graph has no data-dependent shapes: every expert runs on
            # every map, and the choice masks their outputs
            for i in range(len(self.experts)):
                pick = (choice == i).to(maps.dtype).view(-1, 1, 1, 1)
                out = out + pick * self.run_expert(i, maps)
            return maps + out
        for i in range(len(self.experts)):
            index = (choice == i).nonzero().squeeze(1)
            if index.numel():
                out = out.index_copy(0, index,
                                     self.run_expert(i, maps[index]))
        return maps + out

    def qkv(self, x: Tensor, qkv: Tensor, gate: Optional[Tensor]) -> Tensor:
        b, h, w, _ = x.shape
        down = F.linear(x, self.lora_A)  # (B, H, W, r)
        size = self.ctx.window_size if self.per_window else 0
        if size:  # (B * windows, r, size, size), H and W padded to size
            maps = down.view(b, h // size, size, w // size, size, -1)
            maps = maps.permute(0, 1, 3, 5, 2, 4).reshape(
                -1, self.rank, size, size)
            mixed = self.mix(maps).view(b, h // size, w // size, -1, size,
                                        size)
            mixed = mixed.permute(0, 1, 4, 2, 5, 3).reshape(b, h, w, -1)
        else:
            mixed = self.mix(down.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        mixed = mixed * self.scaling
        if gate is not None:
            mixed = mixed * gate_scale(gate, mixed.dim())
        return qkv.addmm_(
            mixed.reshape(-1, self.rank).to(qkv.dtype),
            self.up_projection().t().to(qkv.dtype))

    def up_projection(self) -> Tensor:
        """(3 * dims, rank): the targets share one bottleneck, each has its
        own B in its q/k/v rows."""
        targets, dims, rank = self.lora_B.shape
        up = self.lora_B.new_zeros(3, dims, rank)
        up[self.slots] = self.lora_B
        return up.reshape(3 * dims, rank)
