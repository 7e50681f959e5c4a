"""Loading a checkpoint into a model it must fit.

mmengine's ``load_checkpoint`` and mmseg's ``init_model`` load non-strictly:
weights that are missing, unexpected or of another shape are only logged,
and what does not fit keeps its initial values. Our tools that turn a
checkpoint into something else (merged files, ONNX, prompted predictions)
use these instead, so that a wrong checkpoint is an error, not a quiet
export of half-initialised weights.
"""
import copy
import logging
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DATASETS
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


def _lazy(dataset: dict) -> dict:
    """A dataset config (wrapped ones included) that reads no files."""
    dataset['lazy_init'] = True
    inner = dataset.get('datasets') or [dataset.get('dataset')]
    for cfg in inner:
        if isinstance(cfg, dict):
            _lazy(cfg)
    return dataset


def config_dataset_meta(config: Config) -> Optional[dict]:
    """The ``dataset_meta`` a runner records in its checkpoints: the
    metainfo of the config's training dataset (else its test dataset),
    built without reading its files."""
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = (config.get(key) or {}).get('dataset')
        if dataset:
            return DATASETS.build(_lazy(copy.deepcopy(dataset))).metainfo
    return None


def init_model_strict(config: Config, checkpoint: str,
                      device: str = 'cpu') -> nn.Module:
    """mmseg's ``init_model`` (eval mode) with ``load_fitting_checkpoint``;
    ``dataset_meta`` from the checkpoint, or, for one without it (a
    hand-made file), from the config's dataset, as training would have
    recorded it (mmseg's ``init_model`` would assume Cityscapes)."""
    model = init_model(copy.deepcopy(config), None, device=device)
    ckpt = load_fitting_checkpoint(model, checkpoint, config.filename)
    meta = (ckpt.get('meta') or {}).get('dataset_meta')
    if meta is None:
        meta = config_dataset_meta(config)
        print_log(
            f'{checkpoint} records no meta.dataset_meta; classes and palette '
            f'come from the dataset of {config.filename}.',
            logger='current',
            level=logging.WARNING)
    model.dataset_meta = meta
    return model
