"""MESS datasets of the Medical Sciences domain."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .metainfo import mess_metainfo


@DATASETS.register_module()
class KvasirInstrumentDataset(MESSDataset):
    key = 'kvasir_instrument'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class MESSChaseDB1Dataset(MESSDataset):
    key = 'chase_db1'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class CryoNuSegDataset(MESSDataset):
    key = 'cryonuseg'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class PAXRayLungsDataset(MESSDataset):
    key = 'paxray_lungs'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class PAXRayMediastinumDataset(MESSDataset):
    key = 'paxray_mediastinum'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class PAXRayBonesDataset(MESSDataset):
    key = 'paxray_bones'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class PAXRayDiaphragmDataset(MESSDataset):
    key = 'paxray_diaphragm'
    METAINFO = mess_metainfo(key)
