"""Kvasir-Instrument (Medical Sciences): tools in endoscopy
frames, binary. MESS defines no colours: generated, 'others' black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class KvasirInstrumentDataset(MESSDataset):
    key = 'kvasir_instrument'
    METAINFO = dict(
        dataset_name='Kvasir-Instrument',
        domain='Medical Sciences',
        classes=('others', 'tool'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))
