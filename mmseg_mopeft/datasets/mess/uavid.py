"""UAVid (Earth Monitoring): oblique UAV frames.

Colours: UAVid's label colours, the table MESS converts from (as
``prepare/uavid.py`` does); the class names are MESS's."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class UAVidDataset(MESSDataset):
    key = 'uavid'
    METAINFO = dict(
        dataset_name='UAVid',
        domain='Earth Monitoring',
        classes=('others', 'building', 'road', 'tree', 'grass', 'moving car',
                 'parked car', 'humans'),
        palette=[[0, 0, 0], [128, 0, 0], [128, 64, 128], [0, 128, 0],
                 [128, 128, 0], [64, 0, 128], [192, 0, 192], [64, 64, 0]],
        classes_of_interest=tuple(range(1, 8)))
