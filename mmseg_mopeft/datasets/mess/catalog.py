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


class FromDatasetClass:
    """A fact another class (e.g. a preparer) reads from the MESS dataset
    class with its ``key``, so that the fact has one home. Works on the
    class and on its instances; a key no dataset class has is an
    AttributeError naming it."""

    def __init__(self, name: str = ''):
        self.name = name

    def __set_name__(self, owner, name):
        self.name = self.name or name

    def __get__(self, obj, owner=None):
        key = (owner if obj is None else obj).key
        types = mess_dataset_types()
        if key not in types:
            raise AttributeError(
                f'{(owner or type(obj)).__name__}.{self.name}: no MESS '
                f'dataset class has key {key!r} (known: {sorted(types)})')
        return getattr(types[key], self.name)
