"""One preparer per MESS dataset, registered under its key."""
from .base import (PREPARERS, MESSPreparer, Pair, RawDataError, carve,
                   pair_by_stem, prepare, tile)
from .cryonuseg import CryoNuSeg  # noqa: F401

__all__ = [
    'PREPARERS', 'MESSPreparer', 'Pair', 'RawDataError', 'carve',
    'pair_by_stem', 'prepare', 'tile'
]
from .bdd100k import BDD100K  # noqa: F401
from .kvasir_instrument import KvasirInstrument  # noqa: F401
from .chase_db1 import ChaseDB1  # noqa: F401
from .paxray import PAXRayLungs  # noqa: F401
from .corrosion_cs import CorrosionCS  # noqa: F401
from .pst900 import PST900  # noqa: F401
from .zerowaste import ZeroWaste  # noqa: F401
from .dark_zurich import DarkZurich  # noqa: F401
from .mhp_v1 import MHPv1  # noqa: F401
from .deepcrack import DeepCrack  # noqa: F401
from .suim import SUIM  # noqa: F401
from .cub_200 import CUB200  # noqa: F401
from .cwfid import CWFID  # noqa: F401
from .foodseg103 import FoodSeg103  # noqa: F401
from .atlantis import ATLANTIS  # noqa: F401
from .isaid import ISAID  # noqa: F401
from .isprs_potsdam import ISPRSPotsdam  # noqa: F401
from .worldfloods import WorldFloods  # noqa: F401
from .floodnet import FloodNet  # noqa: F401
from .uavid import UAVid  # noqa: F401
from .dram import DRAM  # noqa: F401
