"""ISPRS Potsdam (Earth Monitoring): urban orthophoto tiles.

Colours: the ISPRS label colours MESS converts from (impervious surfaces
white, building blue, low vegetation cyan, tree green, car yellow, clutter
red); the class names are MESS's."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class ISPRSPotsdamDataset(MESSDataset):
    key = 'isprs_potsdam'
    METAINFO = dict(
        dataset_name='ISPRS Potsdam',
        domain='Earth Monitoring',
        classes=('road', 'building', 'grass', 'tree', 'car', 'others'),
        palette=[[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
                 [255, 255, 0], [255, 0, 0]],
        classes_of_interest=tuple(range(5)))
