"""Prefix tuning / VPT-Deep: learned keys and values prepended in attention.

``length`` key/value vectors per block join the image tokens' keys and values
(windowed and global attention alike; they get no relative position bias).
During training they are reparameterised as ``MLP(embedding)`` (Li & Liang,
2021), which ``fold()`` replaces by its output for inference, with identical
results. ``mlp_dims=None`` learns the vectors directly (VPT-shallow style).

Gated (MoPEFT), the gate G in (0, 1) enters the attention logits of the
prefix as ``log G``: it scales the prefix's unnormalised attention weights by
G, so G = 1 is the ungated prefix and G = 0 removes the prefix exactly. (The
paper's wording, scaling P_K and P_V by G, would leave the prefix attention
mass ``exp(0)`` per token at G = 0.)
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .method import PEFT_METHODS, BlockContext, PEFTMethod, check_int


@PEFT_METHODS.register_module(name='prefix')
class Prefix(PEFTMethod):
    starts_at_sam = False  # the prefix attends from the first step

    def __init__(self,
                 ctx: BlockContext,
                 length: int = 20,
                 mlp_dims: Optional[int] = 32,
                 init_std: float = 0.02):
        super().__init__(ctx)
        dims = ctx.dims
        check_int('prefix.length', length, 1, None)
        self.dims = dims
        self.length = length
        if mlp_dims is None:
            self.embedding = None
            self.mlp = None
            self.kv = nn.Parameter(torch.randn(length, 2 * dims) * init_std)
        else:
            check_int('prefix.mlp_dims', mlp_dims, 1, None)
            self.embedding = nn.Parameter(torch.randn(length, dims) * init_std)
            self.mlp = nn.Sequential(
                nn.Linear(dims, mlp_dims), nn.Tanh(),
                nn.Linear(mlp_dims, 2 * dims))
            self.kv = None

    def key_values(self) -> Tensor:
        """(length, 2 * dims): keys then values."""
        return self.kv if self.mlp is None else self.mlp(self.embedding)

    def prefix(self, batch: int, gate: Optional[Tensor]):
        keys, values = self.key_values().chunk(2, dim=-1)
        logit_bias = None if gate is None else F.logsigmoid(gate).reshape(
            -1, 1, 1, 1)  # broadcasts to (batch, heads, L, 1)
        return (keys.expand(batch, -1, -1), values.expand(batch, -1, -1),
                logit_bias)

    @torch.no_grad()
    def simplify(self) -> None:
        """Replace the reparameterisation by the vectors it produces."""
        if self.mlp is not None:
            self.kv = nn.Parameter(self.key_values().clone(),
                                   requires_grad=self.embedding.requires_grad)
            self.embedding = None
            self.mlp = None

    def fold(self, block: nn.Module) -> bool:
        self.simplify()  # the vectors stay: attention needs them
        return False


def fold_prefixes(model: nn.Module) -> int:
    """Fold every prefix reparameterisation in ``model`` for inference
    (gated or not); returns how many prefixes there are."""
    prefixes = [m for m in model.modules() if isinstance(m, Prefix)]
    for prefix in prefixes:
        prefix.simplify()
    return len(prefixes)
