"""CryoNuSeg (Medical Sciences): nuclei in H&E crops, binary. MESS
defines no colours: generated, 'others' black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class CryoNuSegDataset(MESSDataset):
    key = 'cryonuseg'
    METAINFO = dict(
        dataset_name='CryoNuSeg',
        domain='Medical Sciences',
        classes=('others', 'nuclei in cells'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))
