"""CHASE DB1 (Medical Sciences): retinal vessels, binary. MESS
defines no colours: generated, 'others' black. Prefixed MESS because mmseg's
ChaseDB1Dataset reads another layout and names."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class MESSChaseDB1Dataset(MESSDataset):
    key = 'chase_db1'
    METAINFO = dict(
        dataset_name='CHASE DB1',
        domain='Medical Sciences',
        classes=('others', 'blood vessels'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))
