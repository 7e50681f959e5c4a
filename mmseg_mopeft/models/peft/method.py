"""What a PEFT method is: one module per block, called at the places it acts.

A method registers under the name used in configs
(``peft=dict(<name>=dict(...))``) and is built once per block it tunes with
the block's :class:`BlockContext` and its options. Adding a method is one
file in this package; the backbone, the tuner, the configs' generator, the
benchmark and the contract test find it through ``PEFT_METHODS``.

A method overrides the places where it acts (``PLACES``); each receives the
tensor at that place and the method's gate logits (B', ) in MoPEFT, or None:

* ``norm1(x, gate)``, ``norm2(x, gate)``: the LayerNorm outputs (B, H, W, C);
* ``qkv(x, qkv, gate)``: the fused q/k/v projection (B * H * W, 3C) of the
  normalised tokens ``x`` (B, H, W, C); it may add in place. For
  ``token_wise = False`` methods in windowed blocks ``x`` includes the
  window padding (zero tokens), as in SAM's reference order;
* ``prefix(batch, gate)``: extra ``(keys, values, logit_bias)`` for
  attention, keys/values (batch, L, C); ``batch`` counts windows;
* ``attn_out(x, gate)``: the attention output projection (B, H, W, C);
* ``mlp_hidden(x, gate)``: the first MLP layer's output, before GELU;
* ``ffn(x, gate)``: the feed-forward output before the residual.

Besides the places, a method may say which frozen backbone parameters it
trains (``trained_backbone_params``), report auxiliary losses
(``self.losses``, summed over blocks by the backbone and added to the
training loss), and fold itself into the frozen weights (``fold``).
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Tuple

from mmengine.registry import Registry
from torch import Tensor, nn

PEFT_METHODS = Registry('peft method')

PLACES = ('norm1', 'qkv', 'prefix', 'attn_out', 'norm2', 'mlp_hidden', 'ffn')


@dataclass(frozen=True)
class BlockContext:
    """Where a method sits: what it may need to shape itself."""
    index: int
    depth: int
    dims: int
    num_heads: int
    mlp_dims: int
    window_size: int  # 0: global attention
    grid: Tuple[int, int]  # token grid at the backbone's img_size
    qkv_bias: bool = True  # the q/k/v projection has a bias
    neck: bool = True  # the backbone ends in SAM's neck

    @property
    def windowed(self) -> bool:
        return self.window_size > 0


def check_int(name: str, value, low: int, high: Optional[int]) -> None:
    """Raise a clear error unless ``low <= value <= high`` is an integer."""
    ok = isinstance(value, int) and not isinstance(value, bool) and \
        value >= low and (high is None or value <= high)
    if not ok:
        bound = f'[{low}, {high}]' if high is not None else f'>= {low}'
        raise ValueError(f'peft.{name}={value!r}: must be an integer {bound}')


def check_positive(name: str, value) -> None:
    """Raise a clear error unless ``value`` is a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not value > 0:
        raise ValueError(f'peft.{name}={value!r}: must be a number > 0')


class PEFTMethod(nn.Module):
    """Base class; the places a subclass does not override are not called.

    Class attributes a method sets to describe itself:

    * ``starts_at_sam``: at initialisation the block equals the frozen one.
    * ``cannot_gate``: why a MoPEFT gate cannot act on it (None: gateable;
      then gate logits of -inf must remove the method exactly).
    * ``cannot_fold``: why it cannot be folded into the frozen weights
      (None: ``fold`` does it exactly).
    * ``token_wise``: its ``qkv`` acts on each token alone, so window padding
      gets the method applied to a zero token.
    * ``sees_window_padding``: in windowed blocks its ``qkv`` runs on the
      padded grid (zero tokens), as SAM's reference order does.
    """
    starts_at_sam = True
    cannot_gate: Optional[str] = None
    cannot_fold: Optional[str] = None
    token_wise = True
    sees_window_padding = False

    def __init__(self, ctx: BlockContext):
        super().__init__()
        self.ctx = ctx
        self.losses: Dict[str, Tensor] = {}

    def places(self) -> Tuple[str, ...]:
        """Where it acts: the places its class overrides."""
        cls = type(self)
        return tuple(p for p in PLACES
                     if getattr(cls, p) is not getattr(PEFTMethod, p))

    def trained_backbone_params(self) -> Iterable[str]:
        """Names (in the backbone) of frozen parameters it trains."""
        return ()

    @classmethod
    def dataset_options(cls, num_classes: int) -> dict:
        """Options its paper sets per dataset (written into the generated
        configs), e.g. a loss weight that depends on the class count."""
        return {}

    def simplify(self) -> None:
        """Fold a training-time reparameterisation, keeping the outputs;
        applies gated or not."""

    def fold(self, block: nn.Module) -> bool:
        """Fold the (ungated) method into ``block``'s frozen weights.
        Return True when it is absorbed (then detached), False when it
        stays attached in a simpler form (e.g. a prefix without its MLP)."""
        raise NotImplementedError(self.cannot_fold)

    # the places (identity by default)
    def norm1(self, x: Tensor, gate: Optional[Tensor]) -> Tensor:
        return x

    def qkv(self, x: Tensor, qkv: Tensor, gate: Optional[Tensor]) -> Tensor:
        return qkv

    def prefix(self, batch: int, gate: Optional[Tensor]):
        return None

    def attn_out(self, x: Tensor, gate: Optional[Tensor]) -> Tensor:
        return x

    def norm2(self, x: Tensor, gate: Optional[Tensor]) -> Tensor:
        return x

    def mlp_hidden(self, x: Tensor, gate: Optional[Tensor]) -> Tensor:
        return x

    def ffn(self, x: Tensor, gate: Optional[Tensor]) -> Tensor:
        return x
