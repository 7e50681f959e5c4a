"""MESS datasets of the Agriculture and Biology domain."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .metainfo import mess_metainfo


@DATASETS.register_module()
class SUIMDataset(MESSDataset):
    key = 'suim'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class CUB200Dataset(MESSDataset):
    key = 'cub_200'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class CWFIDDataset(MESSDataset):
    key = 'cwfid'
    METAINFO = mess_metainfo(key)
