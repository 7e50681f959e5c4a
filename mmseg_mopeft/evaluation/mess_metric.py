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
    (usually all classes but the background).
    """

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        classes = self.dataset_meta.get('classes_of_interest')
        if classes is not None:
            intersect = sum(r[0] for r in results)
            union = sum(r[1] for r in results)
            iou = (intersect / union)[torch.as_tensor(list(classes))]
            metrics['CoI-mIoU'] = float(
                np.round(np.nanmean(iou.numpy()) * 100, 2))
        return metrics
