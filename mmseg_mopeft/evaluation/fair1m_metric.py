"""FAIR-1M box mAP: per-class AP at IoU 0.5, category means, overall mAP.

mmdet's ``VOCMetric`` collects detections and ground truth and its
``eval_map`` computes the APs; this metric only groups and reports them:
a table in the layout of the thesis' Table A.1 (classes under their
category, each category followed by its mean), logged and saved as
``fair1m_ap.txt`` / ``fair1m_ap.json`` in the run's log folder
(``work_dir/<timestamp>/``) or ``output_dir``.

Boxes are continuous coordinates (x2 is one past the last pixel, as
Masks2Boxes and the FAIR-1M annotations give them), so ``eval_map`` runs
without ``VOCMetric``'s legacy "+1" on widths and heights.

Means (overall and per category) are taken over the classes that have
ground truth in the evaluated images, as ``eval_map`` does; classes without
ground truth show as '-' and are left out of the returned metrics.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map
from mmdet.registry import METRICS
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable


@METRICS.register_module()
class FAIR1MMetric(VOCMetric):
    """Per-class AP, category means and mAP, reported like Table A.1.

    Returned values are fractions (mmdet's convention); the table shows
    percentages.

    Args:
        iou_thr: IoU for a detection to match a ground-truth box.
        eval_mode: 'area' (all-point interpolated AP, VOC 2010+) or
            '11points' (VOC 2007, as in the DOTA devkit).
        output_dir: Where to save the table; default: the run's log folder.
        keep_results: Also save every detection (``tools/test.py --out``)
            as ``fair1m_detections.json``: image id -> rows of x1, y1, x2,
            y2, score, class name.
        nproc: Processes ``eval_map`` uses.
    """
    default_prefix: Optional[str] = 'fair1m'

    def __init__(self,
                 iou_thr: float = 0.5,
                 eval_mode: str = 'area',
                 output_dir: Optional[str] = None,
                 keep_results: bool = False,
                 nproc: int = 4,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(
            iou_thrs=iou_thr,
            metric='mAP',
            eval_mode=eval_mode,
            collect_device=collect_device,
            prefix=prefix)
        self.iou_thr = iou_thr
        self.output_dir = output_dir
        self.keep_results = keep_results
        self.nproc = nproc

    def process(self, data_batch: dict, data_samples: Sequence[dict]):
        super().process(data_batch, data_samples)
        # VOCMetric keeps (ground truth, detections); add the image id.
        start = len(self.results) - len(data_samples)
        for i, sample in enumerate(data_samples):
            img_id = sample.get('img_id', sample.get('img_path', start + i))
            self.results[start + i] = (*self.results[start + i], img_id)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        gts, dets, img_ids = zip(*results)
        classes = tuple(self.dataset_meta['classes'])
        _, per_class = eval_map(
            list(dets),
            list(gts),
            iou_thr=self.iou_thr,
            dataset=list(classes),
            logger='silent',
            nproc=self.nproc,
            eval_mode=self.eval_mode)
        ap = {
            name: float(res['ap']) if res['num_gts'] > 0 else None
            for name, res in zip(classes, per_class)
        }
        groups = self._groups(classes)
        summary = OrderedDict(mAP=_mean(ap.values()))
        for category, names in groups.items():
            summary[f'mAP_{category}'] = _mean(ap[n] for n in names)
        table = self._table(groups, ap, per_class, classes, summary)
        print_log('\n' + table, logger='current')
        self._save(table, ap, summary, per_class, classes)
        if self.keep_results:
            self._save_detections(img_ids, dets, classes)

        metrics = OrderedDict(
            (k, v) for k, v in summary.items() if v is not None)
        metrics.setdefault('mAP', 0.0)  # no ground truth at all (eval_map)
        metrics.move_to_end('mAP', last=False)
        metrics.update((f'AP{self._iou_tag}_{n}', v) for n, v in ap.items()
                       if v is not None)
        return metrics

    def _groups(self, classes: Sequence[str]) -> Dict[str, List[str]]:
        """Category -> its classes among ``classes`` (one group 'all' when
        the dataset defines no categories)."""
        categories = self.dataset_meta.get('categories') or {'all': classes}
        groups = {
            cat: [n for n in names if n in classes]
            for cat, names in categories.items()
        }
        return {cat: names for cat, names in groups.items() if names}

    def _table(self, groups, ap, per_class, classes, summary) -> str:
        stats = dict(zip(classes, per_class))
        table = PrettyTable(
            ['Category', 'Class', 'GTs', 'Dets', f'AP{self._iou_tag} (%)'])
        for category, names in groups.items():
            for i, name in enumerate(names):
                table.add_row([
                    category if i == 0 else '', name, stats[name]['num_gts'],
                    stats[name]['num_dets'],
                    _fmt(ap[name])
                ])
            table.add_row(['', f'mean ({category})', '', '',
                           _fmt(summary[f'mAP_{category}'])],
                          divider=True)
        table.add_row(['', 'mAP (all classes)', '', '',
                       _fmt(summary['mAP'])])
        table.align['Class'] = 'l'
        return table.get_string()

    @property
    def _iou_tag(self) -> str:
        return f'{round(self.iou_thr * 100):d}'

    def _out_dir(self) -> Optional[str]:
        out_dir = self.output_dir
        if out_dir is None:
            log_file = getattr(MMLogger.get_current_instance(), 'log_file',
                               None)
            out_dir = osp.dirname(log_file) if log_file else None
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        return out_dir

    def _save_detections(self, img_ids, dets, classes):
        out_dir = self._out_dir()
        if out_dir is None:
            return
        record = {
            str(img_id): [[*map(float, row), name]
                          for name, rows in zip(classes, per_class)
                          for row in rows]
            for img_id, per_class in zip(img_ids, dets)
        }
        with open(osp.join(out_dir, 'fair1m_detections.json'), 'w') as f:
            json.dump(record, f)

    def _save(self, table, ap, summary, per_class, classes):
        out_dir = self._out_dir()
        if out_dir is None:
            return
        with open(osp.join(out_dir, 'fair1m_ap.txt'), 'w') as f:
            f.write(table + '\n')
        record = dict(
            iou_thr=self.iou_thr,
            eval_mode=self.eval_mode,
            summary=summary,
            per_class={
                name: dict(
                    ap=ap[name],
                    num_gts=int(res['num_gts']),
                    num_dets=int(res['num_dets']))
                for name, res in zip(classes, per_class)
            })
        with open(osp.join(out_dir, 'fair1m_ap.json'), 'w') as f:
            json.dump(record, f, indent=2)


def _mean(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{100 * value:.2f}'
