from .seg_visualizer import SegVisualizer

__all__ = ['SegVisualizer']
