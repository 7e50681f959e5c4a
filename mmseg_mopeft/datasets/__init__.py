from .mess import *  # noqa: F401,F403  (the MESS dataset classes)
from .mess import DATASET_CLASSES, MESS_DATASETS, MESSDataset
from .samplers import SeededInfiniteSampler
from .shapes import ShapesDataset, generate_shapes
from .transforms import LabelError, LoadCheckedAnnotations

__all__ = [
    'MESSDataset', 'MESS_DATASETS', 'DATASET_CLASSES', 'ShapesDataset',
    'generate_shapes', 'SeededInfiniteSampler'
]
from .fair1m import FAIR1MDataset  # noqa: E402  (mmdet's DATASETS)

__all__ += ['FAIR1MDataset', 'LabelError', 'LoadCheckedAnnotations']
