"""MESS datasets of the Engineering domain."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .metainfo import mess_metainfo


@DATASETS.register_module()
class CorrosionCSDataset(MESSDataset):
    key = 'corrosion_cs'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class DeepCrackDataset(MESSDataset):
    key = 'deepcrack'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class PST900Dataset(MESSDataset):
    key = 'pst900'
    METAINFO = mess_metainfo(key)


@DATASETS.register_module()
class ZeroWasteDataset(MESSDataset):
    key = 'zerowaste'
    METAINFO = mess_metainfo(key)
