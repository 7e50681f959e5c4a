from .mess import CryoNuSegDataset, MESSDataset
from .shapes import ShapesDataset, generate_shapes

__all__ = [
    'MESSDataset', 'CryoNuSegDataset', 'ShapesDataset', 'generate_shapes'
]
