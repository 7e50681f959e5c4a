"""PAXRay-4 (Medical Sciences): four binary tasks on the same chest
X-rays, one class each, as MESS evaluates them (its table shows their mean).
MESS defines no colours: generated, 'others' black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class PAXRayLungsDataset(MESSDataset):
    key = 'paxray_lungs'
    METAINFO = dict(
        dataset_name='PAXRay-4 (lungs)',
        domain='Medical Sciences',
        classes=('others', 'lung'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))


@DATASETS.register_module()
class PAXRayMediastinumDataset(MESSDataset):
    key = 'paxray_mediastinum'
    METAINFO = dict(
        dataset_name='PAXRay-4 (mediastinum)',
        domain='Medical Sciences',
        classes=('others', 'mediastinum'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))


@DATASETS.register_module()
class PAXRayBonesDataset(MESSDataset):
    key = 'paxray_bones'
    METAINFO = dict(
        dataset_name='PAXRay-4 (bones)',
        domain='Medical Sciences',
        classes=('others', 'bones'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))


@DATASETS.register_module()
class PAXRayDiaphragmDataset(MESSDataset):
    key = 'paxray_diaphragm'
    METAINFO = dict(
        dataset_name='PAXRay-4 (diaphragm)',
        domain='Medical Sciences',
        classes=('others', 'diaphragm'),
        palette=generated_palette(2, background=0),
        classes_of_interest=(1, ))
