"""The per-block tuner combining PEFT methods, optionally gated (MoPEFT)."""
from typing import Dict, List, Optional

from mmengine.config import ConfigDict
from torch import Tensor, nn

from .base import BlockTuner, State
from .gates import Gate
from .method import PEFT_METHODS

_OPTIONS = ('gated', )


class PEFTTuner(BlockTuner):
    """Calls each method at its hook points; with ``gated=True`` every
    method gets a gate computed once from the block input.

    ``record_gates=True`` keeps the last gate values (``last_gates``:
    name -> (B, ) in (0, 1)) for analysis.
    """

    def __init__(self, methods: Dict[str, nn.Module], gated: bool, dims: int):
        super().__init__()
        self.methods = nn.ModuleDict(methods)
        self.gates = nn.ModuleDict(
            {name: Gate(dims)
             for name in methods}) if gated else None
        self.record_gates = False
        self.last_gates: Dict[str, Tensor] = {}

    def begin(self, x: Tensor) -> State:
        if self.gates is None:
            return {}
        pooled = x.mean(dim=(1, 2))
        state = {name: gate(pooled) for name, gate in self.gates.items()}
        if self.record_gates:
            self.last_gates = {
                k: v.detach().sigmoid()
                for k, v in state.items()
            }
        return state

    def qkv(self, x: Tensor, qkv: Tensor, state: State) -> Tensor:
        for name, method in self.methods.items():
            qkv = method.qkv(x, qkv, state.get(name))
        return qkv

    def prefix(self, state: State, batch: int):
        for name, method in self.methods.items():
            out = method.prefix(batch, state.get(name))
            if out is not None:
                return out
        return None

    def ffn(self, out: Tensor, state: State) -> Tensor:
        for name, method in self.methods.items():
            out = method.ffn(out, state.get(name))
        return out


def _blocks_of(name: str, options: dict, depth: int) -> List[int]:
    blocks = options.pop('blocks', None)
    if blocks is None:
        return list(range(depth))
    bad = [b for b in blocks if not -depth <= b < depth]
    if bad:
        raise ValueError(f'peft.{name}.blocks={list(blocks)}: indices '
                         f'{bad} are outside the {depth} blocks')
    return sorted({b % depth for b in blocks})


def _build_method(name: str, dims: int, options: dict) -> nn.Module:
    # get() rather than build(): build() looks for the caller's default
    # scope ('mmseg') in this registry's tree and warns on every call
    try:
        return PEFT_METHODS.get(name)(dims=dims, **options)
    except TypeError as error:  # e.g. a misspelt option
        raise TypeError(f'peft.{name}: {error}') from error


def build_tuners(peft: dict, dims: int,
                 depth: int) -> List[Optional[PEFTTuner]]:
    """One tuner per block (None where no method applies) from a config
    like ``dict(lora=dict(rank=8), prefix=dict(length=20),
    adapter=dict(dim=64), gated=True)``. Each method also takes
    ``blocks=[...]`` (default: every block)."""
    peft = dict(peft)
    gated = peft.pop('gated', False)
    known = sorted(PEFT_METHODS.module_dict)
    for name, options in peft.items():
        if name not in PEFT_METHODS.module_dict:
            raise ValueError(f'Unknown PEFT method {name!r} in peft config; '
                             f'choose from {known} (options: {_OPTIONS})')
        if not isinstance(options, (dict, ConfigDict)):
            raise TypeError(f'peft.{name} must be a dict of options, got '
                            f'{options!r}')
    if not peft:
        raise ValueError(f'peft config names no method; choose from {known}')
    where = {}
    for name, options in peft.items():
        options = dict(options)
        where[name] = (_blocks_of(name, options, depth), options)
    tuners = []
    for i in range(depth):
        methods = {
            name: _build_method(name, dims, options)
            for name, (blocks, options) in where.items() if i in blocks
        }
        tuners.append(PEFTTuner(methods, gated, dims) if methods else None)
    return tuners
