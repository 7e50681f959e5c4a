"""PST900 (Engineering): objects in subterranean thermal images. MESS
defines no colours: generated ones, background black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class PST900Dataset(MESSDataset):
    key = 'pst900'
    METAINFO = dict(
        dataset_name='PST900',
        domain='Engineering',
        classes=('background', 'fire extinguisher', 'backpack', 'drill',
                 'human'),
        palette=generated_palette(5, background=0),
        classes_of_interest=tuple(range(1, 5)))
