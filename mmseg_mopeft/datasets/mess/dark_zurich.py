"""Dark Zurich (General): night driving; class 0 'unlabeled', then
Cityscapes' 19 classes (``prepare/dark_zurich.py`` maps the label ids).

Colours: black for 'unlabeled', then Cityscapes' palette (mmseg's).
Prefixed MESS because mmseg's DarkZurichDataset reads the original layout."""
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class MESSDarkZurichDataset(MESSDataset):
    key = 'dark_zurich'
    METAINFO = dict(
        dataset_name='Dark Zurich',
        domain='General',
        classes=('unlabeled', 'road', 'sidewalk', 'building', 'wall', 'fence',
                 'pole', 'traffic light', 'traffic sign', 'vegetation',
                 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus',
                 'train', 'motorcycle', 'bicycle'),
        palette=[[0, 0, 0]] + CityscapesDataset.METAINFO['palette'],
        classes_of_interest=tuple(range(1, 20)))
