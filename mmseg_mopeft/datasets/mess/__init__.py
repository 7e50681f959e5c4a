from .agriculture import CUB200Dataset, CWFIDDataset, SUIMDataset
from .base import MESSDataset
from .earth_monitoring import (FloodNetDataset, ISAIDDataset,
                               ISPRSPotsdamDataset, UAVidDataset,
                               WorldFloodsDataset)
from .engineering import (CorrosionCSDataset, DeepCrackDataset, PST900Dataset,
                          ZeroWasteDataset)
from .general import (ATLANTISDataset, DRAMDataset, FoodSeg103Dataset,
                      MESSBDD100KDataset, MESSDarkZurichDataset, MHPv1Dataset)
from .medical import (CryoNuSegDataset, KvasirInstrumentDataset,
                      MESSChaseDB1Dataset, PAXRayBonesDataset,
                      PAXRayDiaphragmDataset, PAXRayLungsDataset,
                      PAXRayMediastinumDataset)
from .metainfo import MESS_DATASETS, mess_metainfo

# dataset key -> class name, e.g. for configs and result tables
DATASET_CLASSES = {
    'bdd100k': 'MESSBDD100KDataset',
    'dark_zurich': 'MESSDarkZurichDataset',
    'mhp_v1': 'MHPv1Dataset',
    'foodseg103': 'FoodSeg103Dataset',
    'atlantis': 'ATLANTISDataset',
    'dram': 'DRAMDataset',
    'isaid': 'ISAIDDataset',
    'isprs_potsdam': 'ISPRSPotsdamDataset',
    'worldfloods': 'WorldFloodsDataset',
    'floodnet': 'FloodNetDataset',
    'uavid': 'UAVidDataset',
    'kvasir_instrument': 'KvasirInstrumentDataset',
    'chase_db1': 'MESSChaseDB1Dataset',
    'cryonuseg': 'CryoNuSegDataset',
    'paxray_lungs': 'PAXRayLungsDataset',
    'paxray_mediastinum': 'PAXRayMediastinumDataset',
    'paxray_bones': 'PAXRayBonesDataset',
    'paxray_diaphragm': 'PAXRayDiaphragmDataset',
    'corrosion_cs': 'CorrosionCSDataset',
    'deepcrack': 'DeepCrackDataset',
    'pst900': 'PST900Dataset',
    'zerowaste': 'ZeroWasteDataset',
    'suim': 'SUIMDataset',
    'cub_200': 'CUB200Dataset',
    'cwfid': 'CWFIDDataset',
}

__all__ = ['MESSDataset', 'MESS_DATASETS', 'mess_metainfo', 'DATASET_CLASSES'
           ] + list(DATASET_CLASSES.values())
