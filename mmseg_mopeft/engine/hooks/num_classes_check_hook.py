from typing import Iterator, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmseg.registry import DATASETS, HOOKS
from torch import nn

from .checkpoint_keys_check_hook import _innermost

# heads that classify into the dataset's classes (segmentors, detectors)
_HEADS = ('decode_head', 'auxiliary_head', 'bbox_head')


def _heads(model) -> Iterator[Tuple[str, nn.Module]]:
    """(config key, head) for every head with a ``num_classes``."""
    for name in _HEADS:
        head = getattr(model, name, None)
        if isinstance(head, nn.ModuleList):
            items = [(f'model.{name}[{i}]', h) for i, h in enumerate(head)]
        else:
            items = [(f'model.{name}', head)]
        for key, head in items:
            if isinstance(getattr(head, 'num_classes', None), int):
                yield f'{key}.num_classes', head


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Fail before the first iteration when a head's ``num_classes`` is not
    the number of classes of a dataset the run uses.

    A mismatch trains or scores silently wrong: extra outputs never
    supervised, or class ids the head cannot predict. Checked against the
    train, val and test datasets: built ones (``metainfo['classes']``),
    and those of the config the run does not build (their class's
    ``METAINFO``, or the config's ``metainfo``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = _innermost(runner.model)
        splits = ('train', 'val', 'test')
        built = [s for s in splits if _built(runner, s)]  # their data first
        for split in built + [s for s in splits if s not in built]:
            found = _dataset_classes(runner, split)
            if found is None:
                continue
            name, classes = found
            for key, head in _heads(model):
                if head.num_classes != len(classes):
                    raise ValueError(
                        f'{key}={head.num_classes}, but '
                        f'{split}_dataloader.dataset ({name}) has '
                        f'{len(classes)} classes ({_names(classes)}). Set '
                        f'{key}={len(classes)} or use the dataset the '
                        f'config was written for.')


def _built(runner, split: str) -> bool:
    return isinstance(getattr(runner, f'_{split}_loop', None), BaseLoop)


def _dataset_classes(runner, split: str) -> Optional[Tuple[str, tuple]]:
    """(dataset class name, classes) of a split: from the built dataset
    when the run built its loop, else from the config; None when unknown.
    """
    if not _built(runner, split):
        return config_classes(runner.cfg, split)
    dataset = getattr(runner, f'_{split}_loop').dataloader.dataset
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    return None if classes is None else (type(dataset).__name__,
                                         tuple(classes))


def config_classes(cfg, split: str) -> Optional[Tuple[str, tuple]]:
    """(dataset class name, classes) of ``cfg``'s ``<split>_dataloader``
    without building it: the config's ``metainfo`` or the class's
    ``METAINFO``; None when unknown (no such loader, wrapper datasets)."""
    loader = cfg.get(f'{split}_dataloader') or {}
    dataset_cfg = loader.get('dataset') if isinstance(loader, dict) else None
    if not isinstance(dataset_cfg, dict):
        return None
    cls = dataset_cfg.get('type')
    if isinstance(cls, str):
        cls = DATASETS.get(cls)
    classes = (dataset_cfg.get('metainfo') or {}).get('classes') or getattr(
        cls, 'METAINFO', {}).get('classes')
    if cls is None or classes is None:
        return None
    return cls.__name__, tuple(classes)


def _names(classes, shown: int = 6) -> str:
    names = ', '.join(map(str, classes[:shown]))
    return names + (', ...' if len(classes) > shown else '')
