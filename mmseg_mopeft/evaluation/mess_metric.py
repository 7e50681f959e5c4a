import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class MESSIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` plus MESS's CoI-mIoU.

    MESS's mIoU is what ``IoUMetric`` computes: per-class IoU from the pixels
    of all images together, averaged over the classes whose union is not
    empty (a class absent from the ground truth but predicted counts as 0).
    CoI-mIoU is the same mean over the dataset's ``classes_of_interest``
    (usually all classes but the background), indices into the dataset's
    ``classes`` as evaluated: a MESS dataset built with a subset of its
    classes re-indexes them (``MESSDataset``), and an empty tuple (no class
    of interest selected) reports no CoI-mIoU. With ``format_only`` nothing
    is scored, as in ``IoUMetric``.
    """

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        classes = self.dataset_meta.get('classes_of_interest')
        if self.format_only or not classes:
            return metrics
        num_classes = len(self.dataset_meta['classes'])
        wrong = [i for i in classes if not 0 <= i < num_classes]
        if wrong:
            raise ValueError(
                f'classes_of_interest {list(classes)} hold {wrong}, no '
                f'index of the {num_classes} classes evaluated')
        intersect = sum(r[0] for r in results)
        union = sum(r[1] for r in results)
        iou = (intersect / union)[torch.as_tensor(list(classes))]
        metrics['CoI-mIoU'] = float(
            np.round(np.nanmean(iou.numpy()) * 100, 2))
        return metrics
