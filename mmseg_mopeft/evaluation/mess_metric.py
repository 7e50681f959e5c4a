from typing import Sequence

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
    of interest selected) reports no CoI-mIoU. ``nan_to_num`` applies to
    both means. With ``format_only`` nothing is scored, as in ``IoUMetric``.

    A ground-truth value that is neither a class nor ``ignore_index`` is an
    error naming the label file: ``IoUMetric`` would drop its pixels.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        if not self.format_only:
            num_classes = len(self.dataset_meta['classes'])
            for sample in data_samples:
                label = sample['gt_sem_seg']['data']
                wrong = (label != self.ignore_index) & (
                    (label < 0) | (label >= num_classes))
                if wrong.any():
                    values = torch.unique(label[wrong]).tolist()
                    where = sample.get('seg_map_path') or sample.get(
                        'img_path', 'a sample')
                    raise ValueError(
                        f'{where}: ground-truth values {values} are no class '
                        f'of the {num_classes} evaluated and not ignore_index'
                        f'={self.ignore_index}; their pixels would not be '
                        'scored.')
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        classes = self.dataset_meta.get('classes_of_interest')
        if self.format_only or not classes:
            return metrics
        num_classes = len(self.dataset_meta['classes'])
        wrong = [
            i for i in classes
            if not isinstance(i, (int, np.integer)) or isinstance(i, bool)
            or not 0 <= i < num_classes
        ]
        if wrong or len(set(classes)) < len(classes):
            raise ValueError(
                f'classes_of_interest {list(classes)} must be distinct '
                f'indices of the {num_classes} classes evaluated' +
                (f'; {wrong} are not' if wrong else ''))
        intersect = sum(r[0] for r in results)
        union = sum(r[1] for r in results)
        iou = (intersect / union)[torch.as_tensor(list(classes))].numpy()
        if self.nan_to_num is not None:
            iou = np.nan_to_num(iou, nan=self.nan_to_num)
        metrics['CoI-mIoU'] = float(np.round(np.nanmean(iou) * 100, 2))
        return metrics
