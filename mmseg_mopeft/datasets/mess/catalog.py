"""The MESS datasets, found by walking mmseg's dataset registry, so that a
dataset's file is the only place that lists it."""
from typing import Dict

from mmseg.registry import DATASETS

from .base import MESSDataset


def mess_dataset_types() -> Dict[str, type]:
    """``{key: class}`` of every registered MESS dataset, in registration
    order (``mess/__init__.py`` imports them in MESS's reporting order)."""
    found: Dict[str, type] = {}
    for cls in DATASETS.module_dict.values():
        if not (isinstance(cls, type) and issubclass(cls, MESSDataset)
                and cls.key):
            continue
        other = found.setdefault(cls.key, cls)
        if other is not cls:
            raise ValueError(f'MESS key {cls.key!r} is claimed by both '
                             f'{other.__name__} and {cls.__name__}')
    return found


def mess_dataset_type(key: str) -> type:
    """The dataset class of ``key``; the error lists the known keys."""
    types = mess_dataset_types()
    if key not in types:
        raise KeyError(f'no MESS dataset class has key {key!r}; known: '
                       f'{sorted(types)}')
    return types[key]


def registered_name(cls: type) -> str:
    """The name configs use in ``type=`` for ``cls``."""
    names = [n for n, c in DATASETS.module_dict.items() if c is cls]
    if not names:
        raise ValueError(f'{cls.__name__} is not registered in DATASETS')
    return names[0]
