from .label_info import add_label_info_to_samples
from .load_checked_annotations import LabelError, LoadCheckedAnnotations

add_label_info_to_samples()

__all__ = ['LoadCheckedAnnotations', 'LabelError', 'add_label_info_to_samples']
