from typing import Iterator, Tuple

from mmengine.hooks import Hook
from mmseg.registry import HOOKS, MODELS


def sam_files(model_cfg, key: str = 'model') -> Iterator[Tuple[str, str]]:
    """(config key, path) of every SAM file ``model_cfg`` loads: the
    ``init_cfg`` checkpoints of our modules (they take SAM files) and
    ``prompt_decoder.checkpoint``."""
    if isinstance(model_cfg, (list, tuple)):
        for i, item in enumerate(model_cfg):
            yield from sam_files(item, f'{key}[{i}]')
        return
    if not isinstance(model_cfg, dict):
        return
    if key.endswith('prompt_decoder') and isinstance(
            model_cfg.get('checkpoint'), str):
        yield f'{key}.checkpoint', model_cfg['checkpoint']
    init = model_cfg.get('init_cfg')
    if isinstance(init, dict) and isinstance(init.get('checkpoint'), str):
        module = model_cfg.get('type')
        if isinstance(module, str):
            module = MODELS.get(module)  # None when unknown
        if getattr(module, '__module__', '').startswith('mmseg_mopeft.'):
            yield f'{key}.init_cfg.checkpoint', init['checkpoint']
    for name, value in model_cfg.items():
        if name != 'init_cfg':
            yield from sam_files(value, f'{key}.{name}')


@HOOKS.register_module()
class SAMCheckpointCheckHook(Hook):
    """Fail before weights load when the config's ``sam_checkpoint``
    is not the SAM file the model loads.

    A base config copies ``sam_checkpoint`` into the model's ``init_cfg``
    when it is read, so setting it in a child config or ``--cfg-options``
    changes nothing: the run would start from the base config's file.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        wanted = runner.cfg.get('sam_checkpoint')
        if not isinstance(wanted, str):
            return
        other = [(k, p) for k, p in sam_files(runner.cfg.get('model'))
                 if p != wanted]
        if other:
            keys = ', '.join(f'{k}={p!r}' for k, p in other)
            raise ValueError(
                f'sam_checkpoint={wanted!r}, but the model loads {keys}. '
                f'A base config copies sam_checkpoint into the model when '
                f'it is read, so a child config or --cfg-options must set '
                f'these keys too (or sam_checkpoint=None to load different '
                f'files on purpose).')
