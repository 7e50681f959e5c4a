from .base import MESSDataset
from .medical import CryoNuSegDataset

__all__ = ['MESSDataset', 'CryoNuSegDataset']
