from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .prepare import PREPARERS


@DATASETS.register_module()
class MESSDataset(BaseSegDataset):
    """A MESS benchmark dataset in our uniform layout.

    ``tools/dataset_converters/prepare_mess.py`` writes every dataset as
    ``data/<key>/img_dir/{train,val,test}/<stem><img_suffix>`` with masks
    ``data/<key>/ann_dir/<split>/<stem>.png`` holding class ids (255 =
    ignore). Subclasses set ``key``; class names, MESS's classes of interest
    and the domain come from ``metainfo.py``, the image suffix from the
    dataset's preparer.
    """
    key = ''

    def __init__(self, img_suffix=None, seg_map_suffix='.png', **kwargs):
        if img_suffix is None:
            img_suffix = PREPARERS.get(self.key).img_suffix \
                if self.key in PREPARERS.module_dict else '.png'
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)
