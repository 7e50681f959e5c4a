"""One preparer per MESS dataset, registered under its key."""
from . import (atlantis, bdd100k, chase_db1,  # noqa: F401  (registration)
               corrosion_cs, cryonuseg, cub_200, cwfid, dark_zurich, deepcrack,
               dram, floodnet, foodseg103, isaid, isprs_potsdam,
               kvasir_instrument, mhp_v1, paxray, pst900, suim, uavid,
               worldfloods, zerowaste)
from .base import (PREPARERS, LabelValueError, MESSPreparer, Pair,
                   RawDataError, carve, colours_to_ids, files_by_stem,
                   keep_ids, lookup, note_ignored, pair_by_stem, prepare,
                   read_ids, tile)

__all__ = [
    'PREPARERS', 'LabelValueError', 'MESSPreparer', 'Pair', 'RawDataError',
    'carve', 'colours_to_ids', 'files_by_stem', 'keep_ids', 'lookup',
    'note_ignored', 'pair_by_stem', 'prepare', 'read_ids', 'tile'
]
