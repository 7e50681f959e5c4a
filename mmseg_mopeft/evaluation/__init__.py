"""Metrics mmseg lacks (registered in mmseg's METRICS)."""
from .mess_metric import MESSIoUMetric  # noqa: F401
