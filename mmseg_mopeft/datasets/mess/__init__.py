"""The 22 MESS datasets (25 classes: PAXRay-4 is four binary tasks), one
file each, imported in MESS's reporting order (domain by domain), which is
the order of ``mess_dataset_types()`` and of the tables built from it."""
# isort: off
from .bdd100k import MESSBDD100KDataset
from .dark_zurich import MESSDarkZurichDataset
from .mhp_v1 import MHPv1Dataset
from .foodseg103 import FoodSeg103Dataset
from .atlantis import ATLANTISDataset
from .dram import DRAMDataset
from .isaid import ISAIDDataset
from .isprs_potsdam import ISPRSPotsdamDataset
from .worldfloods import WorldFloodsDataset
from .floodnet import FloodNetDataset
from .uavid import UAVidDataset
from .kvasir_instrument import KvasirInstrumentDataset
from .chase_db1 import MESSChaseDB1Dataset
from .cryonuseg import CryoNuSegDataset
from .paxray import (PAXRayBonesDataset, PAXRayDiaphragmDataset,
                     PAXRayLungsDataset, PAXRayMediastinumDataset)
from .corrosion_cs import CorrosionCSDataset
from .deepcrack import DeepCrackDataset
from .pst900 import PST900Dataset
from .zerowaste import ZeroWasteDataset
from .suim import SUIMDataset
from .cub_200 import CUB200Dataset
from .cwfid import CWFIDDataset
# isort: on
from .base import MESSDataset
from .catalog import mess_dataset_type, mess_dataset_types, registered_name
from .palette import generated_palette
from .prepared import DatasetNotPreparedError, prepare_command

# Derived from the classes, for result tables and the config generator:
# key -> the name configs use in ``type=``
DATASET_CLASSES = {
    key: registered_name(cls)
    for key, cls in mess_dataset_types().items()
}
# key -> display name, domain, classes, palette, classes of interest
MESS_DATASETS = {
    key:
    dict(
        name=cls.METAINFO['dataset_name'],
        domain=cls.METAINFO['domain'],
        classes=cls.METAINFO['classes'],
        palette=cls.METAINFO['palette'],
        classes_of_interest=cls.METAINFO['classes_of_interest'])
    for key, cls in mess_dataset_types().items()
}

__all__ = [
    'MESSDataset', 'MESS_DATASETS', 'DATASET_CLASSES', 'mess_dataset_types',
    'mess_dataset_type', 'registered_name', 'generated_palette',
    'DatasetNotPreparedError', 'prepare_command'
] + list(DATASET_CLASSES.values())
