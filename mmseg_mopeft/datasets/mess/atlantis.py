"""ATLANTIS (General): 56 water-related classes, no background
class (void pixels are ignored). MESS defines no colours: generated ones."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class ATLANTISDataset(MESSDataset):
    key = 'atlantis'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='ATLANTIS',
        domain='General',
        classes=('bicycle', 'boat', 'breakwater', 'bridge', 'building', 'bus',
                 'canal', 'car', 'cliff', 'culvert', 'cypress tree', 'dam',
                 'ditch', 'fence', 'fire hydrant', 'fjord', 'flood',
                 'glaciers', 'hot spring', 'lake', 'levee', 'lighthouse',
                 'mangrove', 'marsh', 'motorcycle', 'offshore platform',
                 'parking meter', 'person', 'pier', 'pipeline', 'pole',
                 'puddle', 'rapids', 'reservoir', 'river', 'river delta',
                 'road', 'sea', 'ship', 'shoreline', 'sidewalk', 'sky', 'snow',
                 'spillway', 'swimming pool', 'terrain', 'traffic sign',
                 'train', 'truck', 'umbrella', 'vegetation', 'wall',
                 'water tower', 'water well', 'waterfall', 'wetland'),
        palette=generated_palette(56),
        classes_of_interest=tuple(range(56)))
