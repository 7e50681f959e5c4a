"""BDD100K (General): driving scenes labelled with Cityscapes' 19 classes.

Colours: BDD100K's colour-map labels use Cityscapes' palette (mmseg's).
Prefixed MESS because mmseg's BDD100KDataset reads the original layout."""
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class MESSBDD100KDataset(MESSDataset):
    key = 'bdd100k'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='BDD100K',
        domain='General',
        classes=('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                 'traffic light', 'traffic sign', 'vegetation', 'terrain',
                 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
                 'motorcycle', 'bicycle'),
        palette=CityscapesDataset.METAINFO['palette'],
        classes_of_interest=tuple(range(19)))
