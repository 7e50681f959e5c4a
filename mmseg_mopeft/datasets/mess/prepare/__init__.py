"""One preparer per MESS dataset, registered under its key."""
from .base import (PREPARERS, MESSPreparer, Pair, RawDataError, carve,
                   pair_by_stem, prepare, tile)
from .cryonuseg import CryoNuSeg  # noqa: F401

__all__ = [
    'PREPARERS', 'MESSPreparer', 'Pair', 'RawDataError', 'carve',
    'pair_by_stem', 'prepare', 'tile'
]
