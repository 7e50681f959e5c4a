"""MESS datasets of the Earth Monitoring domain."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .metainfo import mess_metainfo


@DATASETS.register_module()
class ISAIDDataset(MESSDataset):
    key = 'isaid'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class ISPRSPotsdamDataset(MESSDataset):
    key = 'isprs_potsdam'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class WorldFloodsDataset(MESSDataset):
    key = 'worldfloods'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class FloodNetDataset(MESSDataset):
    key = 'floodnet'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class UAVidDataset(MESSDataset):
    key = 'uavid'
    METAINFO = mess_metainfo(key)
