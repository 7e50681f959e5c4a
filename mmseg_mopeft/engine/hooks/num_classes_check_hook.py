from typing import Iterator, Tuple

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS
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
    supervised, or class ids the head cannot predict. Checked for every
    loop the run has built (train and val when training, test when
    testing), against ``dataset.metainfo['classes']``.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = _innermost(runner.model)
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if not isinstance(loop, BaseLoop):  # not built: not used
                continue
            dataset = loop.dataloader.dataset
            classes = getattr(dataset, 'metainfo', {}).get('classes')
            if classes is None:
                continue
            for key, head in _heads(model):
                if head.num_classes != len(classes):
                    raise ValueError(
                        f'{key}={head.num_classes}, but '
                        f'{split}_dataloader.dataset '
                        f'({type(dataset).__name__}) has {len(classes)} '
                        f'classes ({_names(classes)}). Set {key}='
                        f'{len(classes)} or use the dataset the config was '
                        f'written for.')


def _names(classes, shown: int = 6) -> str:
    names = ', '.join(map(str, classes[:shown]))
    return names + (', ...' if len(classes) > shown else '')
