"""Metrics mmseg lacks (registered in mmseg's METRICS)."""
from .fair1m_metric import FAIR1MMetric  # noqa: F401  (mmdet METRICS)
from .mess_metric import MESSIoUMetric  # noqa: F401
from .prompt_metric import PromptIoUMetric  # noqa: F401
