"""MESS datasets of the General domain.

Where mmseg has a class of the same name for the original layout (BDD100K,
Dark Zurich, CHASE DB1), ours are prefixed with MESS.
"""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .metainfo import mess_metainfo


@DATASETS.register_module()
class MESSBDD100KDataset(MESSDataset):
    key = 'bdd100k'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class MESSDarkZurichDataset(MESSDataset):
    key = 'dark_zurich'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class MHPv1Dataset(MESSDataset):
    key = 'mhp_v1'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class FoodSeg103Dataset(MESSDataset):
    key = 'foodseg103'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class ATLANTISDataset(MESSDataset):
    key = 'atlantis'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class DRAMDataset(MESSDataset):
    key = 'dram'
    METAINFO = mess_metainfo(key)
