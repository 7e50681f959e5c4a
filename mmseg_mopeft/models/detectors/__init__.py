from .sam_detector import SAMDetector

__all__ = ['SAMDetector']
