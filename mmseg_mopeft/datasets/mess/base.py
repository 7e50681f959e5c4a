from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class MESSDataset(BaseSegDataset):
    """A MESS benchmark dataset in our uniform layout.

    ``tools/dataset_converters/prepare_mess.py`` writes every dataset as
    ``data/<key>/img_dir/{train,val,test}/<stem><img_suffix>`` with masks
    ``data/<key>/ann_dir/{split}/<stem>.png`` holding class indices (255 =
    ignore). Subclasses only declare ``METAINFO``: class names in index order,
    a palette, the MESS classes of interest and the domain.
    """

    def __init__(self, img_suffix='.png', seg_map_suffix='.png', **kwargs):
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)
