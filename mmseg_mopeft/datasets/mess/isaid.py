"""iSAID (Earth Monitoring): objects in aerial images.

Colours: iSAID's label colours, the table MESS converts from (as
``prepare/isaid.py`` does); the class names are MESS's."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class ISAIDDataset(MESSDataset):
    key = 'isaid'
    METAINFO = dict(
        dataset_name='iSAID',
        domain='Earth Monitoring',
        classes=('others', 'boat', 'storage tank', 'baseball diamond',
                 'tennis court', 'basketball court', 'running track field',
                 'bridge', 'truck or bus', 'car', 'helicopter',
                 'swimming pool', 'traffic circle', 'soccer field',
                 'air plane', 'pier'),
        palette=[[0, 0, 0], [0, 0, 63], [0, 63, 63], [0, 63, 0], [0, 63, 127],
                 [0, 63, 191], [0, 63, 255], [0, 127, 63], [0, 127, 127],
                 [0, 0, 127], [0, 0, 191], [0, 0, 255], [0, 191, 127],
                 [0, 127, 191], [0, 127, 255], [0, 100, 155]],
        classes_of_interest=tuple(range(1, 16)))
