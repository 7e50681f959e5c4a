"""BitFit (Ben Zaken et al., 2022): train the encoder's own bias terms.

In each block it tunes, the biases of the q/k/v (where it has one) and
output projections, both MLP layers and both LayerNorms train; nothing is
added. With the first block it also trains the patch embedding's bias, with
the last the neck's LayerNorm biases (where there is a neck: not under mmseg
heads), so the default (every block) trains every encoder bias.
The trained biases are the weights, so there is nothing to fold, and no gate
can act on them.
"""
from typing import Iterable

from torch import nn

from .method import PEFT_METHODS, BlockContext, PEFTMethod

BLOCK_BIASES = ('norm1.bias', 'attn.qkv.bias', 'attn.proj.bias',
                'norm2.bias', 'mlp.lin1.bias', 'mlp.lin2.bias')


@PEFT_METHODS.register_module(name='bitfit')
class BitFit(PEFTMethod):
    cannot_gate = ('it trains the frozen biases in place; there is no '
                   'separate update for a gate to scale')

    def __init__(self, ctx: BlockContext):
        super().__init__(ctx)

    def trained_backbone_params(self) -> Iterable[str]:
        biases = [b for b in BLOCK_BIASES
                  if self.ctx.qkv_bias or b != 'attn.qkv.bias']
        names = [f'blocks.{self.ctx.index}.{b}' for b in biases]
        if self.ctx.index == 0:
            names.append('patch_embed.proj.bias')
        if self.ctx.index == self.ctx.depth - 1 and self.ctx.neck:
            names += ['neck.1.bias', 'neck.3.bias']
        return names

    def fold(self, block: nn.Module) -> bool:
        return True  # already in the weights
