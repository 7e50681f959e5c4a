"""SSF (Lian et al., NeurIPS 2022): scale and shift the features.

A learned per-channel ``x * gamma + beta`` follows each operation of the
block where the paper puts one: both LayerNorms, the q/k/v and output
projections of attention, and both MLP layers (``places`` selects a subset).
It starts at identity (gamma = 1, beta = 0), so training starts at SAM; the
SSF reference draws them from N(1, 0.02) and N(0, 0.02) and also scales and
shifts the patch embedding's output, which we leave frozen. Each follows a
linear map or a LayerNorm, so it folds exactly into that operation's weight
and bias for inference, at no extra cost. Gated (MoPEFT), the change is scaled:
``x + G * (x * (gamma - 1) + beta)``, so G = 0 is the frozen block.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .gates import gate_scale
from .method import PEFT_METHODS, BlockContext, PEFTMethod

# place -> the operation it follows (block-relative) and its width
FOLLOWS = {
    'norm1': 'norm1',
    'qkv': 'attn.qkv',
    'attn_out': 'attn.proj',
    'norm2': 'norm2',
    'mlp_hidden': 'mlp.lin1',
    'ffn': 'mlp.lin2',
}


@PEFT_METHODS.register_module(name='ssf')
class SSF(PEFTMethod):

    def __init__(self,
                 ctx: BlockContext,
                 places: Sequence[str] = tuple(FOLLOWS)):
        super().__init__(ctx)
        if isinstance(places, str) or not places or \
                not set(places) <= set(FOLLOWS):
            raise ValueError(f'peft.ssf.places={places!r}: a list of '
                             f'places from {tuple(FOLLOWS)}')
        widths = dict(qkv=3 * ctx.dims, mlp_hidden=ctx.mlp_dims)
        self._places = tuple(p for p in FOLLOWS if p in places)
        for place in self._places:
            width = widths.get(place, ctx.dims)
            self.register_parameter(f'{place}_scale',
                                    nn.Parameter(torch.ones(width)))
            self.register_parameter(f'{place}_shift',
                                    nn.Parameter(torch.zeros(width)))

    def places(self) -> Tuple[str, ...]:
        return self._places

    def scale_shift(self, place: str, x: Tensor,
                    gate: Optional[Tensor]) -> Tensor:
        scale = getattr(self, f'{place}_scale').to(x.dtype)
        shift = getattr(self, f'{place}_shift').to(x.dtype)
        if gate is None:
            return torch.addcmul(shift, x, scale)
        delta = torch.addcmul(shift, x, scale - 1)
        return torch.addcmul(x, delta, gate_scale(gate, x.dim()))

    def norm1(self, x, gate):
        return self.scale_shift('norm1', x, gate)

    def qkv(self, x, qkv, gate):
        if gate is not None:  # (B, ...) gate for (B * H * W, 3C) rows
            gate = gate.repeat_interleave(qkv.shape[0] // gate.shape[0])
        return self.scale_shift('qkv', qkv, gate)

    def attn_out(self, x, gate):
        return self.scale_shift('attn_out', x, gate)

    def norm2(self, x, gate):
        return self.scale_shift('norm2', x, gate)

    def mlp_hidden(self, x, gate):
        return self.scale_shift('mlp_hidden', x, gate)

    def ffn(self, x, gate):
        return self.scale_shift('ffn', x, gate)

    @torch.no_grad()
    def fold(self, block: nn.Module) -> bool:
        for place in self._places:
            op = block.get_submodule(FOLLOWS[place])
            scale = getattr(self, f'{place}_scale')
            shift = getattr(self, f'{place}_shift')
            op.weight.mul_(
                scale.view(-1, *([1] * (op.weight.dim() - 1))).to(
                    op.weight.dtype))
            if op.bias is None:
                op.bias = nn.Parameter(
                    torch.zeros_like(shift), requires_grad=False)
            op.bias.mul_(scale).add_(shift)
        return True
