"""What a PEFT method is: a module called at some of a block's hook points.

Methods register under the name used in configs
(``peft=dict(<name>=dict(...))``); adding one means adding a file here and
touches neither the backbone nor the tuner. ``gate`` is the method's gate
logits (B', ) in MoPEFT, otherwise None.
"""
from typing import Optional

from mmengine.registry import Registry
from torch import Tensor, nn

PEFT_METHODS = Registry('peft method')


def check_int(name: str, value, low: int, high: Optional[int]) -> None:
    """Raise a clear error unless ``low <= value <= high`` is an integer."""
    ok = isinstance(value, int) and not isinstance(value, bool) and \
        value >= low and (high is None or value <= high)
    if not ok:
        bound = f'[{low}, {high}]' if high is not None else f'>= {low}'
        raise ValueError(f'peft.{name}={value!r}: must be an integer {bound}')


class PEFTMethod(nn.Module):
    """No-op defaults for the three hook points (see ``base.BlockTuner``)."""

    def qkv(self, x: Tensor, qkv: Tensor, gate: Optional[Tensor]) -> Tensor:
        return qkv

    def prefix(self, batch: int, gate: Optional[Tensor]):
        return None

    def ffn(self, out: Tensor, gate: Optional[Tensor]) -> Tensor:
        return out
