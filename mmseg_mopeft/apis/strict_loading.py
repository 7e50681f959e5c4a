"""Loading a checkpoint into a model it must fit.

mmengine's ``load_checkpoint`` and mmseg's ``init_model`` load non-strictly:
weights that are missing, unexpected or of another shape are only logged,
and what does not fit keeps its initial values. Our tools that turn a
checkpoint into something else (merged files, ONNX, prompted predictions)
use these instead, so that a wrong checkpoint is an error, not a quiet
export of half-initialised weights.
"""
import copy
from typing import Optional

from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmseg.apis import init_model
from torch import nn


def load_fitting_checkpoint(model: nn.Module, checkpoint: str,
                            config: Optional[str] = None) -> dict:
    """Load ``checkpoint`` into ``model`` strictly (PEFT checkpoints are
    completed from their base SAM file while loading, so they fit);
    returns the checkpoint."""
    try:
        return load_checkpoint(model, checkpoint, map_location='cpu',
                               strict=True)
    except RuntimeError as error:
        of = f' of {config}' if config else ''
        raise RuntimeError(f'{checkpoint} does not fit the model{of}: '
                           f'{error}') from error


def init_model_strict(config: Config, checkpoint: str,
                      device: str = 'cpu') -> nn.Module:
    """mmseg's ``init_model`` (eval mode, ``dataset_meta`` from the
    checkpoint) with ``load_fitting_checkpoint``."""
    model = init_model(copy.deepcopy(config), None, device=device)
    ckpt = load_fitting_checkpoint(model, checkpoint, config.filename)
    model.dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
    return model
