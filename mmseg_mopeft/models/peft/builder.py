"""Building the per-block tuners from a ``peft=dict(...)`` config."""
from typing import List, Optional, Sequence, Set

from mmengine.config import ConfigDict

from .method import PEFT_METHODS, BlockContext
from .tuner import PEFTTuner

_OPTIONS = ('gated', )


def _int_list(key: str, value, depth: int) -> List[int]:
    if not isinstance(value, (list, tuple)) or not value or any(
            isinstance(b, bool) or not isinstance(b, int) for b in value):
        raise ValueError(f'{key}={value!r}: must be a non-empty list of '
                         f'block indices (integers)')
    bad = [b for b in value if not -depth <= b < depth]
    if bad:
        raise ValueError(f'{key}={list(value)}: indices {bad} are outside '
                         f'the {depth} blocks')
    return sorted({b % depth for b in value})


def resolve_blocks(key: str, blocks, depth: int) -> List[int]:
    """Block indices from ``'all'``, ``'last_half'``, a start index
    (``int``: that block and the later ones) or a list of indices."""
    if blocks is None or blocks == 'all':
        return list(range(depth))
    if blocks == 'last_half':
        return list(range(depth // 2, depth))
    if isinstance(blocks, int) and not isinstance(blocks, bool):
        if not 0 <= blocks < depth:
            raise ValueError(f'{key}={blocks}: the first tuned block must '
                             f'lie in [0, {depth - 1}]')
        return list(range(blocks, depth))
    if isinstance(blocks, str):
        raise ValueError(f"{key}={blocks!r}: use 'all', 'last_half', a "
                         f'start index or a list of block indices')
    return _int_list(key, blocks, depth)


def resolve_gated(gated, names: Sequence[str], registry) -> Set[str]:
    """The methods to gate from ``gated`` (True, False or a list)."""
    if gated is False:
        return set()
    if gated is True:
        chosen = list(names)
    elif isinstance(gated, (list, tuple)) and all(
            isinstance(g, str) for g in gated):
        unknown = sorted(set(gated) - set(names))
        if unknown:
            raise ValueError(f'peft.gated={list(gated)}: {unknown} are not '
                             f'among the configured methods {list(names)}')
        chosen = list(gated)
    else:
        raise ValueError(f'peft.gated={gated!r}: must be True, False or a '
                         f'list of method names')
    for name in chosen:
        reason = registry.module_dict[name].cannot_gate
        if reason:
            raise ValueError(f'peft.gated: {name!r} cannot be gated '
                             f'({reason}); gate the others with '
                             f'gated=[...names...]')
    return set(chosen)


def _build_method(name: str, ctx: BlockContext, options: dict):
    # get() rather than build(): build() looks for the caller's default
    # scope ('mmseg') in this registry's tree and warns on every call
    try:
        return PEFT_METHODS.module_dict[name](ctx, **options)
    except TypeError as error:  # e.g. a misspelt option
        raise TypeError(f'peft.{name}: {error}') from error


def build_tuners(peft: dict,
                 contexts: Sequence[BlockContext],
                 peft_blocks=None) -> List[Optional[PEFTTuner]]:
    """One tuner per block (None where no method applies) from a config
    like ``dict(lora=dict(rank=8), prefix=dict(length=20),
    adapter=dict(dim=64), gated=True)``.

    Each method takes ``blocks=`` (see :func:`resolve_blocks`; default all);
    ``peft_blocks`` (the backbone's) restricts every method further.
    ``gated`` is True (every method), False, or a list of method names.
    """
    if not isinstance(peft, (dict, ConfigDict)):
        raise TypeError(f'peft must be a dict of methods, got {peft!r}')
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
    gated = resolve_gated(gated, list(peft), PEFT_METHODS)
    depth = len(contexts)
    allowed = set(resolve_blocks('peft_blocks', peft_blocks, depth))
    where = {}
    for name, options in peft.items():
        options = dict(options)
        blocks = resolve_blocks(f'peft.{name}.blocks',
                                options.pop('blocks', None), depth)
        blocks = [b for b in blocks if b in allowed]
        if not blocks:
            raise ValueError(f'peft.{name}: none of its blocks is among '
                             f'peft_blocks={peft_blocks!r}')
        where[name] = (blocks, options)
    tuners = []
    for i, ctx in enumerate(contexts):
        methods = {
            name: _build_method(name, ctx, options)
            for name, (blocks, options) in where.items() if i in blocks
        }
        tuners.append(
            PEFTTuner(methods, gated, ctx.dims) if methods else None)
    return tuners
