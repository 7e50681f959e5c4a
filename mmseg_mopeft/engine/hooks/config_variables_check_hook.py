from typing import Dict, Tuple

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

_MISSING = object()


def _lookup(cfg, dotted: str):
    """``cfg['a']['b']`` for ``'a.b'`` (a Config or dicts), or
    ``_MISSING``."""
    value = cfg
    for part in dotted.split('.'):
        if not hasattr(value, 'get'):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            break
    return value


@HOOKS.register_module()
class ConfigVariablesCheckHook(Hook):
    """Fail before the run when a documented top-level config variable
    differs from the nested keys a base config copied it into.

    A base config copies such a variable where it is used when the file is
    read, so setting it in a child config or with ``--cfg-options`` changes
    nothing: the run would silently use the base config's value.

    Args:
        copies: variable -> the dotted keys that must hold its value (keys
            absent from a config are skipped).
    """

    priority = 'VERY_HIGH'

    def __init__(self, copies: Dict[str, Tuple[str, ...]] = None):
        self.copies = copies if copies is not None else dict(
            prompt_seed=('model.prompt_sampler.seed', 'randomness.seed'))

    def before_run(self, runner) -> None:
        cfg = runner.cfg
        for name, keys in self.copies.items():
            if name not in cfg:
                continue
            wanted = cfg[name]
            other = [(k, _lookup(cfg, k)) for k in keys]
            other = [(k, v) for k, v in other
                     if v is not _MISSING and v != wanted]
            if other:
                held = ', '.join(f'{k}={v!r}' for k, v in other)
                raise ValueError(
                    f'{name}={wanted!r}, but {held}. A base config copies '
                    f'{name} into those keys when it is read, so a child '
                    f'config or --cfg-options must set them too.')
