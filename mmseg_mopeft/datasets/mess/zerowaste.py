"""ZeroWaste-f (Engineering): recyclables on a conveyor. MESS
defines no colours: generated ones, background black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class ZeroWasteDataset(MESSDataset):
    key = 'zerowaste'
    METAINFO = dict(
        dataset_name='ZeroWaste-f',
        domain='Engineering',
        classes=('background or trash', 'rigid plastic', 'cardboard', 'metal',
                 'soft plastic'),
        palette=generated_palette(5, background=0),
        classes_of_interest=tuple(range(1, 5)))
