"""SUIM (Agriculture and Biology): underwater scenes.

Colours: SUIM's colour codes, the table MESS converts from (black
waterbody, blue diver, green plants, cyan wrecks, red robots, magenta reefs,
yellow fish, white sea-floor)."""
from mmseg.registry import DATASETS

from .base import MESSDataset


@DATASETS.register_module()
class SUIMDataset(MESSDataset):
    key = 'suim'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='SUIM',
        domain='Agriculture and Biology',
        classes=('background (waterbody)', 'human diver',
                 'aquatic plants and sea-grass', 'wrecks and ruins',
                 'robots (auvs/rovs/instruments)', 'reefs and invertebrates',
                 'fish and vertebrates', 'sea-floor and rocks'),
        palette=[[0, 0, 0], [0, 0, 255], [0, 255, 0], [0, 255, 255],
                 [255, 0, 0], [255, 0, 255], [255, 255, 0], [255, 255, 255]],
        classes_of_interest=tuple(range(1, 8)))
