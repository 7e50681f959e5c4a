"""DeepCrack (Engineering): cracks in concrete and asphalt, binary.
MESS defines no colours: generated, the surface black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class DeepCrackDataset(MESSDataset):
    key = 'deepcrack'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='DeepCrack',
        domain='Engineering',
        classes=('concrete or asphalt', 'crack'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))
