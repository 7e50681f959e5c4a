"""The per-block tuner: calls the block's methods at their places, in config
order, each behind its own gate in MoPEFT."""
from typing import Dict, List, Optional, Set, Tuple

import torch
from torch import Tensor, nn

from .gates import Gate
from .method import PEFTMethod

State = Dict[str, Tensor]


class PEFTTuner(nn.Module):
    """The methods of one block and their gates.

    ``record_gates=True`` keeps the last gate values (``last_gates``:
    name -> (B, ) in (0, 1)) for analysis.
    """

    def __init__(self, methods: Dict[str, PEFTMethod], gated: Set[str],
                 dims: int):
        super().__init__()
        self.methods = nn.ModuleDict(methods)
        gates = {name: Gate(dims) for name in methods if name in gated}
        self.gates = nn.ModuleDict(gates) if gates else None
        self.record_gates = False
        self.last_gates: Dict[str, Tensor] = {}
        self._at: Dict[str, List[str]] = {}
        self._index_places()

    def _index_places(self) -> None:
        self._at = {}
        for name, method in self.methods.items():
            for place in method.places():
                self._at.setdefault(place, []).append(name)

    def acts_at(self, place: str) -> bool:
        return place in self._at

    @property
    def pads_windows(self) -> bool:
        """Whether some q/k/v method must see the window padding."""
        return any(self.methods[n].sees_window_padding
                   for n in self._at.get('qkv', ()))

    def begin(self, x: Tensor) -> State:
        """Gate logits per method from the block input (B, H, W, C)."""
        if self.gates is None:
            return {}
        state = {name: gate(x) for name, gate in self.gates.items()}
        if self.record_gates:
            self.last_gates = {
                k: v.detach().sigmoid()
                for k, v in state.items()
            }
        return state

    def run(self, place: str, x: Tensor, state: State) -> Tensor:
        """Run the methods acting at a (B, H, W, C)-shaped place."""
        for name in self._at.get(place, ()):
            x = getattr(self.methods[name], place)(x, state.get(name))
        return x

    def qkv(self, x: Tensor, qkv: Tensor, state: State) -> Tensor:
        for name in self._at.get('qkv', ()):
            qkv = self.methods[name].qkv(x, qkv, state.get(name))
        return qkv

    def qkv_padding(self, fill: Tensor, state: State, batch: int) -> Tensor:
        """q/k/v (batch, 3C) of a zero padding token: the frozen projection
        changed by every token-wise method, as if it ran on the padding."""
        names = [
            n for n in self._at.get('qkv', ())
            if self.methods[n].token_wise
        ]
        if not names:
            return fill
        c = fill.shape[-1] // 3
        zero = fill.new_zeros(batch, 1, 1, c)
        qkv = fill.expand(batch, -1).clone()
        for name in names:
            qkv = self.methods[name].qkv(zero, qkv, state.get(name))
        return qkv

    def prefix(self, state: State, batch: int
               ) -> Optional[Tuple[Tensor, Tensor, Optional[Tensor]]]:
        """All methods' prefixes, concatenated; the logit bias per key
        (batch, 1, L, 1), or None when no prefix has one."""
        parts = [
            self.methods[n].prefix(batch, state.get(n))
            for n in self._at.get('prefix', ())
        ]
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        keys = torch.cat([p[0] for p in parts], dim=1)
        values = torch.cat([p[1] for p in parts], dim=1)
        if all(p[2] is None for p in parts):
            return keys, values, None
        biases = []
        for k, _, bias in parts:
            shape = (batch, 1, k.shape[1], 1)
            biases.append(
                k.new_zeros(shape) if bias is None else bias.expand(shape))
        return keys, values, torch.cat(biases, dim=2)

    def pop_losses(self) -> Dict[str, Tensor]:
        """Auxiliary losses the methods reported in the last forward."""
        losses = {}
        for method in self.methods.values():
            for key, value in method.losses.items():
                losses[key] = losses[key] + value if key in losses else value
            method.losses = {}
        return losses

    def trained_backbone_params(self) -> List[str]:
        return [
            name for method in self.methods.values()
            for name in method.trained_backbone_params()
        ]

    def fold(self, block: nn.Module) -> Tuple[List[str], Dict[str, str]]:
        """Fold every method that can be folded into ``block``'s frozen
        weights, in config order; return (folded, kept: name -> why).

        A method folds only when it is ungated and every method before it at
        one of its places folded too (folding past a method that stays would
        change their order). Prefixes fold their reparameterisation and stay
        (attention does not care about key order).
        """
        folded, kept = [], {}
        blocked: Set[str] = set()
        for name, method in list(self.methods.items()):
            method.simplify()
            places = set(method.places()) - {'prefix'}
            reason = None
            if self.gates is not None and name in self.gates:
                reason = 'gated: the gate scales it per sample'
            elif method.cannot_fold:
                reason = method.cannot_fold
            elif places & blocked:
                reason = ('follows a method that stays at '
                          f'{sorted(places & blocked)}')
            if reason is None and method.fold(block):
                folded.append(name)
                del self.methods[name]
                continue
            if reason is None:  # folded in place, stays attached
                folded.append(name)
            else:
                kept[name] = reason
            blocked |= places
        self._index_places()
        return folded, kept
