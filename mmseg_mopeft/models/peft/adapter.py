"""Bottleneck adapter on a block's feed-forward output (Houlsby et al.).

``out + up(act(down(out)))`` with ``up`` zero-initialised, so training starts
exactly at SAM. Gated (MoPEFT), the adapter's contribution is multiplied by a
per-sample gate in (0, 1); at 0 the adapter is bypassed. The GELU between the
projections leaves nothing to fold.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from .gates import gate_scale
from .method import PEFT_METHODS, BlockContext, PEFTMethod, check_int


@PEFT_METHODS.register_module(name='adapter')
class Adapter(PEFTMethod):
    cannot_fold = 'a nonlinear bottleneck beside the frozen weights'

    def __init__(self, ctx: BlockContext, dim: int = 64):
        super().__init__(ctx)
        check_int('adapter.dim', dim, 1, None)
        self.down = nn.Linear(ctx.dims, dim)
        self.act = nn.GELU()
        self.up = nn.Linear(dim, ctx.dims)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def ffn(self, out: Tensor, gate: Optional[Tensor]) -> Tensor:
        delta = self.up(self.act(self.down(out)))
        if gate is None:
            return out + delta
        return torch.addcmul(out, delta, gate_scale(gate, delta.dim()))
