"""WorldFloods (Earth Monitoring): Sentinel-2 flood scenes; no
background class (invalid pixels are ignored). MESS defines no colours:
generated ones."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class WorldFloodsDataset(MESSDataset):
    key = 'worldfloods'
    METAINFO = dict(
        dataset_name='WorldFloods',
        domain='Earth Monitoring',
        classes=('land', 'water and flood', 'cloud'),
        palette=generated_palette(3),
        classes_of_interest=(1, ))
