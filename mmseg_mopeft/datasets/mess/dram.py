"""DRAM (General): paintings labelled with 11 PASCAL VOC classes;
background is the last class (11). MESS defines no colours: generated ones,
background black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class DRAMDataset(MESSDataset):
    key = 'dram'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='DRAM',
        domain='General',
        classes=('bird', 'boat', 'bottle', 'cat', 'chair', 'cow', 'dog',
                 'horse', 'person', 'potted-plant', 'sheep', 'background'),
        palette=generated_palette(12, background=11),
        classes_of_interest=tuple(range(11)))
