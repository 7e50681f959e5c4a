"""CWFID (Agriculture and Biology): crop and weed seedlings.

Colours: the authors' annotation colours, soil black, crop green, weed red.
MESS maps red to its class 1 'crop seedling'; our preparer follows the data
(``prepare/cwfid.py``), so class 1 is the green crop."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class CWFIDDataset(MESSDataset):
    key = 'cwfid'
    METAINFO = dict(
        dataset_name='CWFID',
        domain='Agriculture and Biology',
        classes=('ground', 'crop seedling', 'weed'),
        palette=[[0, 0, 0], [0, 255, 0], [255, 0, 0]],
        classes_of_interest=(1, 2))
