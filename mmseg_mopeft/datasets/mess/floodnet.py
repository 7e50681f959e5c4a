"""FloodNet (Earth Monitoring): UAV images after a hurricane. MESS
defines no colours: generated ones, background black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class FloodNetDataset(MESSDataset):
    key = 'floodnet'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='FloodNet',
        domain='Earth Monitoring',
        classes=('background', 'building-flooded', 'building-non-flooded',
                 'road-flooded', 'road-non-flooded', 'water', 'tree',
                 'vehicle', 'pool', 'grass'),
        palette=generated_palette(10, background=0),
        classes_of_interest=(1, 3))
