from .masks2boxes import masks_to_boxes
from .masks2boxes_head import Masks2BoxesHead

__all__ = ['Masks2BoxesHead', 'masks_to_boxes']
