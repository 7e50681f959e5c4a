"""LV-MHP v1 (General): human body parts. MESS defines no colours:
generated ones, 'others' black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class MHPv1Dataset(MESSDataset):
    key = 'mhp_v1'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='MHP v1',
        domain='General',
        classes=('others', 'hat', 'hair', 'sunglasses', 'upper clothes',
                 'skirt', 'pants', 'dress', 'belt', 'left shoe', 'right shoe',
                 'face', 'left leg', 'right leg', 'left arm', 'right arm',
                 'bag', 'scarf', 'torso skin'),
        palette=generated_palette(19, background=0),
        classes_of_interest=tuple(range(1, 19)))
