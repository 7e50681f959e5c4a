from .base import BlockTuner

__all__ = ['BlockTuner']
