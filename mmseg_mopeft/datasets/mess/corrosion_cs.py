"""Corrosion CS (Engineering): condition states of corroded steel.
MESS defines no colours: generated ones, 'others' black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class CorrosionCSDataset(MESSDataset):
    key = 'corrosion_cs'
    METAINFO = dict(
        dataset_name='Corrosion CS',
        domain='Engineering',
        classes=('others', 'steel with fair corrosion',
                 'steel with poor corrosion', 'steel with severe corrosion'),
        palette=generated_palette(4, background=0),
        classes_of_interest=tuple(range(1, 4)))
