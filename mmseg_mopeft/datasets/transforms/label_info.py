"""Each segmentation sample carries its dataset's number of classes.

``LoadCheckedAnnotations`` checks label values against the number of
classes and the ignore index of the sample's dataset. A transform never sees
its dataset, and mmseg's ``BaseSegDataset`` puts neither into the sample
dict, so we add them (``results['label_info']``) where every sample is made,
in ``get_data_info``: inside DataLoader workers too, for mmseg's datasets
and ours alike, with no per-config setting that could disagree with the
dataset.
"""
from mmseg.datasets import BaseSegDataset

from .load_checked_annotations import LABEL_INFO_KEY


def _with_label_info(get_data_info):

    def wrapped(self, idx: int) -> dict:
        data_info = get_data_info(self, idx)
        data_info.setdefault(
            LABEL_INFO_KEY,
            dict(
                num_classes=len(self.metainfo['classes']),
                ignore_index=getattr(self, 'ignore_index', 255),
                dataset=type(self).__name__))
        return data_info

    wrapped.adds_label_info = True
    return wrapped


def add_label_info_to_samples() -> None:
    """Wrap ``BaseSegDataset.get_data_info`` once (idempotent)."""
    current = BaseSegDataset.get_data_info
    if not getattr(current, 'adds_label_info', False):
        BaseSegDataset.get_data_info = _with_label_info(current)
