"""LoRA on the fused q/k/v projection (Hu et al., 2022).

For each target (q and v by default) the projection gains ``B @ A`` of rank
``rank``, scaled by ``alpha / rank``. ``B`` starts at zero, so training starts
exactly at SAM. Gated (MoPEFT), the scale is predicted per sample:
``gate(x) * alpha / rank`` with the gate in (0, 1); a gate of 0 removes LoRA.
A gated LoRA therefore cannot be merged into the frozen weights.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gates import gate_scale
from .method import PEFT_METHODS, PEFTMethod, check_int

_SLOTS = ('q', 'k', 'v')


@PEFT_METHODS.register_module(name='lora')
class LoRA(PEFTMethod):

    def __init__(self,
                 dims: int,
                 rank: int = 8,
                 alpha: Optional[float] = None,
                 targets: Sequence[str] = ('q', 'v')):
        super().__init__()
        check_int('lora.rank', rank, 1, dims)
        unknown = set(targets) - set(_SLOTS)
        if unknown or not targets:
            raise ValueError(f'lora.targets={tuple(targets)}: choose from '
                             f'{_SLOTS}')
        self.dims = dims
        self.rank = rank
        self.scaling = (alpha if alpha is not None else rank) / rank
        self.slots = [_SLOTS.index(t) for t in targets]
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
        """(3 * dims, targets * rank): target t's B in its q/k/v rows."""
        targets = len(self.slots)
        up = self.lora_B.new_zeros(3, self.dims, targets, self.rank)
        for i, slot in enumerate(self.slots):
            up[slot, :, i] = self.lora_B[i]
        return up.reshape(3 * self.dims, targets * self.rank)
