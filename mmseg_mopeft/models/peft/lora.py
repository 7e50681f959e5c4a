"""LoRA on the fused q/k/v projection (Hu et al., 2022).

For each target (q and v by default) the projection gains ``B @ A`` of rank
``rank``, scaled by ``alpha / rank`` (``alpha`` defaults to ``rank``: scale
1; our configs fix it at 8, so that another rank changes the scale as in
the LoRA paper and HF peft). ``B`` starts at zero, so training starts
exactly at SAM. Gated (MoPEFT), the scale is predicted per sample:
``gate(x) * alpha / rank`` with the gate in (0, 1); a gate of 0 removes LoRA.
Ungated LoRA folds into the frozen q/k/v weights; gated LoRA cannot.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gates import gate_scale
from .method import (PEFT_METHODS, BlockContext, PEFTMethod, check_int,
                     check_positive)

QKV = ('q', 'k', 'v')


def check_targets(name: str, targets: Sequence[str]) -> list:
    """The q/k/v slots (0, 1, 2) of ``targets``, with a clear error."""
    if isinstance(targets, str) or not targets or \
            not set(targets) <= set(QKV) or len(set(targets)) < len(targets):
        raise ValueError(f'peft.{name}.targets={targets!r}: a list of '
                         f'distinct names from {QKV}')
    return [QKV.index(t) for t in targets]


def block_up_projection(lora_b: Tensor, slots: Sequence[int]) -> Tensor:
    """(3 * dims, targets * rank): target i's B (dims, rank) in its q/k/v
    rows, so that one product adds every target's update."""
    targets, dims, rank = lora_b.shape
    up = lora_b.new_zeros(3, dims, targets, rank)
    for i, slot in enumerate(slots):
        up[slot, :, i] = lora_b[i]
    return up.reshape(3 * dims, targets * rank)


@PEFT_METHODS.register_module(name='lora')
class LoRA(PEFTMethod):

    def __init__(self,
                 ctx: BlockContext,
                 rank: int = 8,
                 alpha: Optional[float] = None,
                 targets: Sequence[str] = ('q', 'v')):
        super().__init__(ctx)
        dims = ctx.dims
        check_int('lora.rank', rank, 1, dims)
        if alpha is not None:
            check_positive('lora.alpha', alpha)
        self.slots = check_targets('lora', targets)
        self.rank = rank
        self.scaling = (alpha if alpha is not None else rank) / rank
        self.lora_A = nn.Parameter(torch.empty(len(targets) * rank, dims))
        self.lora_B = nn.Parameter(torch.zeros(len(targets), dims, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def qkv(self, x: Tensor, qkv: Tensor, gate: Optional[Tensor]) -> Tensor:
        # The scale (and gate) is applied to the rank-r bottleneck, the
        # cheapest place; one in-place product with the block-structured
        # up-projection then adds all targets to the fused q/k/v output.
        down = F.linear(x, self.lora_A) * self.scaling
        if gate is not None:
            down = down * gate_scale(gate, down.dim())
        up = self.up_projection().t().to(qkv.dtype)  # autocast skips addmm_
        return qkv.addmm_(down.reshape(-1, down.shape[-1]).to(qkv.dtype), up)

    def up_projection(self) -> Tensor:
        return block_up_projection(self.lora_B, self.slots)

    def delta_weight(self) -> Tensor:
        """The (3 * dims, dims) update of the fused q/k/v weight."""
        return self.up_projection() @ self.lora_A * self.scaling

    @torch.no_grad()
    def fold(self, block: nn.Module) -> bool:
        weight = block.attn.qkv.weight
        weight += self.delta_weight().to(weight.dtype)
        return True
