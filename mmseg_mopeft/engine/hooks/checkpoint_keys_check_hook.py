import re
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmseg.registry import HOOKS

_SHOWN = 5  # keys quoted per kind in the message


def _innermost(model):
    """The module mmengine loads weights into (no DDP, no TTA wrapper)."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def _quote(keys: List[str]) -> str:
    more = f', ... ({len(keys) - _SHOWN} more)' if len(keys) > _SHOWN else ''
    return ', '.join(keys[:_SHOWN]) + more


@HOOKS.register_module()
class CheckpointKeysCheckHook(Hook):
    """Refuse a checkpoint that does not fill the model.

    mmengine loads ``load_from`` (``tools/test.py CONFIG CKPT``, resume)
    non-strictly: a raw SAM file, another method's or another
    architecture's checkpoint only logs a warning, and the run goes on with
    random weights. This hook looks at what is still missing, unexpected or
    of another shape once the state dict has loaded (so checkpoints
    completed while loading, like PEFT checkpoints filled from their base
    SAM file, pass) and raises unless ``allow_partial`` is set, in which
    case it warns.

    Args:
        allow_partial: load checkpoints meant to be partial (warn only);
            ``tools/test.py --allow-partial``, ``tools/train.py
            --allow-partial``.
    """

    priority = 'VERY_LOW'  # after hooks that complete the checkpoint

    def __init__(self, allow_partial: bool = False):
        self.allow_partial = allow_partial
        self._handle = None

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._release()
        model = _innermost(runner.model)
        state = checkpoint.get('state_dict', checkpoint)
        own = model.state_dict()
        mismatched = []
        for key, value in state.items():
            key = re.sub(r'^module\.', '', key)  # as Runner.load_checkpoint
            if key in own and hasattr(value, 'shape') and tuple(
                    value.shape) != tuple(own[key].shape):
                mismatched.append(f'{key} {tuple(value.shape)} in the '
                                  f'checkpoint, {tuple(own[key].shape)} in '
                                  f'the model')
        meta = checkpoint.get('meta')
        peft_base = meta.get('peft_base') if isinstance(meta, dict) else None
        source = runner._load_from or 'the checkpoint'

        def check(module, incompatible):
            # runs once, after the whole state dict has loaded
            self._release()
            missing = [
                k for k in incompatible.missing_keys
                if 'num_batches_tracked' not in k
            ]
            self._check(runner, source, type(module).__name__, len(own),
                        missing, list(incompatible.unexpected_keys),
                        mismatched, peft_base)

        self._handle = model.register_load_state_dict_post_hook(check)

    def _check(self, runner, source: str, model_name: str, total: int,
               missing: List[str], unexpected: List[str],
               mismatched: List[str], peft_base: Optional[dict]) -> None:
        if not (missing or unexpected or mismatched):
            return
        parts = []
        if missing:
            parts.append(f'{len(missing)} of the model\'s {total} weights '
                         f'are missing ({_quote(missing)})')
        if unexpected:
            parts.append(f'{len(unexpected)} keys are not in the model '
                         f'({_quote(unexpected)})')
        if mismatched:
            parts.append(f'{len(mismatched)} have another shape '
                         f'({_quote(mismatched)})')
        message = (f'Checkpoint {source} does not fit the model '
                   f'({model_name}): ' + '; '.join(parts) + '.')
        if peft_base and missing:
            message += (f' It is a PEFT checkpoint whose frozen weights come '
                        f'from its base file ({peft_base}), but the base '
                        f'file could not fill them.')
        if any(k.startswith(('image_encoder.', 'mask_decoder.'))
               for k in unexpected):
            message += (' It looks like a raw SAM file: give it to the '
                        'model as init_cfg (the configs\' sam_checkpoint), '
                        'not as the checkpoint to test or load_from.')
        else:
            message += (' It may come from another method, another '
                        'architecture or another number of classes.')
        if self.allow_partial:
            runner.logger.warning(
                message + ' Loaded anyway (allow_partial): those weights '
                'keep their initial values.')
            return
        raise RuntimeError(
            message + ' Without those weights the model would run with '
            'initial values. To load a checkpoint that is partial on '
            'purpose, pass --allow-partial (tools/test.py, tools/train.py) '
            'or set allow_partial=True in CheckpointKeysCheckHook.')


def set_checkpoint_keys_check(cfg, allow_partial: bool = False) -> None:
    """Make sure ``cfg`` checks the checkpoints it loads; ``allow_partial``
    turns the check into a warning (False keeps what the config says)."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    entries = [h for h in hooks if h.get('type') in (
        'CheckpointKeysCheckHook', 'mmseg.CheckpointKeysCheckHook')]
    if not entries:
        entries = [dict(type='CheckpointKeysCheckHook')]
        hooks += entries
    if allow_partial:
        for entry in entries:
            entry['allow_partial'] = True
    cfg.custom_hooks = hooks
