"""MESS datasets of the Medical Sciences domain."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class CryoNuSegDataset(MESSDataset):
    """CryoNuSeg: nuclei in H&E-stained cryosections (30 images, 512x512)."""
    METAINFO = dict(
        classes=('others', 'nuclei in cells'),
        palette=[[0, 0, 0], [255, 0, 0]],
        classes_of_interest=(1, ),
        domain='Medical Sciences')
