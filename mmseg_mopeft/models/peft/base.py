"""The interface between the SAM backbone and parameter-efficient tuners.

A backbone block calls its tuner (if one is attached) at three hook points and
knows nothing else about PEFT:

* ``begin(x)`` sees the block input (B, H, W, C) once and returns a per-sample
  ``state`` dict (e.g. gate values). Tensors in it must have batch size B.
* ``qkv(x, qkv, state)`` may change the fused q/k/v projection ``qkv``
  (B * H * W, 3C) of the tokens ``x`` (B, H, W, C), in place if it likes
  (an in-place ``addmm_`` saves a pass over the large output). It sees the
  image tokens only; window padding gets the frozen projection of a zero
  token, as in SAM.
* ``prefix(state, batch)`` may return extra keys/values prepended inside
  attention: ``(keys, values, logit_bias)`` with keys/values (batch, L, C) and
  ``logit_bias`` broadcastable to (batch, heads, N, L) or None. ``batch`` is
  B times the number of windows in windowed blocks, and ``state`` is repeated
  to match.
* ``ffn(out, state)`` may change the feed-forward output before the residual.
"""
from typing import Dict, Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor

State = Dict[str, Tensor]


class BlockTuner(BaseModule):
    """No-op tuner; methods override the hooks they need."""

    def begin(self, x: Tensor) -> State:
        return {}

    def qkv(self, x: Tensor, qkv: Tensor, state: State) -> Tensor:
        return qkv

    def prefix(self, state: State, batch: int
               ) -> Optional[Tuple[Tensor, Tensor, Optional[Tensor]]]:
        return None

    def ffn(self, out: Tensor, state: State) -> Tensor:
        return out
