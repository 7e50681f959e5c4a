"""FAIR1MMetric on a hand-made case with known APs."""
import json

import pytest
import torch

from mmseg_mopeft.datasets import FAIR1MDataset
from mmseg_mopeft.evaluation import FAIR1MMetric


def _sample(gt_boxes, gt_labels, det_boxes, det_scores, det_labels):
    t = torch.tensor
    return dict(
        gt_instances=dict(
            bboxes=t(gt_boxes, dtype=torch.float32).reshape(-1, 4),
            labels=t(gt_labels, dtype=torch.long)),
        ignored_instances=dict(
            bboxes=torch.zeros(0, 4),
            labels=torch.zeros(0, dtype=torch.long)),
        pred_instances=dict(
            bboxes=t(det_boxes, dtype=torch.float32).reshape(-1, 4),
            scores=t(det_scores, dtype=torch.float32),
            labels=t(det_labels, dtype=torch.long)))


def _evaluate(tmp_path, eval_mode='area', keep_results=False):
    """Small Car (label 20): 2 objects over two images; detections by score:
    0.9 hit, 0.8 miss, 0.7 hit -> precision 1, 1/2, 2/3 at recall 1/2, 1/2,
    1. Boeing737: one object, its only detection has IoU 0.4 -> AP 0.
    Tennis Court: one object found exactly -> AP 1. Van: no objects, one
    detection -> not in any mean."""
    metric = FAIR1MMetric(
        eval_mode=eval_mode,
        output_dir=str(tmp_path),
        keep_results=keep_results,
        nproc=1)
    metric.dataset_meta = FAIR1MDataset.METAINFO
    car, van, b737, court = map(FAIR1MDataset.METAINFO['classes'].index,
                                ('Small Car', 'Van', 'Boeing737',
                                 'Tennis Court'))
    metric.process({}, [
        _sample([[0, 0, 10, 10], [50, 50, 70, 60], [0, 0, 30, 30]],
                [car, b737, court],
                [[1, 0, 10, 10], [20, 20, 30, 30], [60, 50, 75, 60],
                 [0, 0, 30, 30], [5, 5, 9, 9]], [0.9, 0.8, 0.6, 0.95, 0.4],
                [car, car, b737, court, van]),
        _sample([[100, 100, 120, 110]], [car], [[100, 100, 120, 111]], [0.7],
                [car]),
    ])
    return metric.evaluate(2)


def test_known_aps_all_point_interpolation(tmp_path):
    metrics = _evaluate(tmp_path)
    car = 0.5 * 1 + 0.5 * 2 / 3
    assert metrics['fair1m/AP50_Small Car'] == pytest.approx(car)
    assert metrics['fair1m/AP50_Boeing737'] == 0
    assert metrics['fair1m/AP50_Tennis Court'] == 1
    assert 'fair1m/AP50_Van' not in metrics  # no ground truth
    assert metrics['fair1m/mAP_Vehicle'] == pytest.approx(car)
    assert metrics['fair1m/mAP_Airplane'] == 0
    assert metrics['fair1m/mAP_Court'] == 1
    assert 'fair1m/mAP_Ship' not in metrics
    assert metrics['fair1m/mAP'] == pytest.approx((car + 0 + 1) / 3)

    table = (tmp_path / 'fair1m_ap.txt').read_text()
    for name in FAIR1MDataset.METAINFO['classes']:
        assert f' {name} ' in table
    assert 'mean (Ship)' in table and 'mean (Road)' in table
    assert f'{100 * car:.2f}' in table
    saved = json.loads((tmp_path / 'fair1m_ap.json').read_text())
    assert len(saved['per_class']) == 37
    assert saved['per_class']['Van'] == dict(ap=None, num_gts=0, num_dets=1)
    assert saved['per_class']['Small Car'] == dict(
        ap=pytest.approx(car), num_gts=2, num_dets=3)
    assert saved['summary']['mAP'] == pytest.approx((car + 0 + 1) / 3)


def test_known_aps_eleven_points(tmp_path):
    # recall 0..0.5 (6 points) at precision 1, 0.6..1 (5 points) at 2/3
    metrics = _evaluate(tmp_path, eval_mode='11points')
    assert metrics['fair1m/AP50_Small Car'] == pytest.approx(
        (6 + 5 * 2 / 3) / 11, abs=1e-6)


def test_keep_results_saves_every_detection(tmp_path):
    _evaluate(tmp_path, keep_results=True)
    saved = json.loads((tmp_path / 'fair1m_detections.json').read_text())
    assert sorted(saved) == ['0', '1']
    assert sorted(saved['0'], key=lambda row: -row[4])[0] == [
        0, 0, 30, 30, pytest.approx(0.95), 'Tennis Court'
    ]
    assert saved['1'] == [[100, 100, 120, 111, pytest.approx(0.7),
                           'Small Car']]
    assert len(saved['0']) == 5


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _one_box(gt_box, det_box, label, img_id=None):
    t = torch.tensor
    sample = dict(
        gt_instances=dict(bboxes=t([gt_box], dtype=torch.float32),
                          labels=t([label])),
        ignored_instances=dict(bboxes=torch.zeros(0, 4),
                               labels=torch.zeros(0, dtype=torch.long)),
        pred_instances=dict(bboxes=t([det_box], dtype=torch.float32),
                            scores=t([0.9]), labels=t([label])))
    if img_id is not None:
        sample['img_id'] = img_id
    return sample


@pytest.mark.parametrize('iou_thr', [0.3, 0.5])
def test_iou_thr_decides_what_matches(tmp_path, iou_thr):
    gt, det = [50, 50, 70, 60], [60, 50, 75, 60]
    iou = _iou(gt, det)  # 0.4
    metric = FAIR1MMetric(iou_thr=iou_thr, output_dir=str(tmp_path),
                          nproc=1)
    metric.dataset_meta = FAIR1MDataset.METAINFO
    b737 = FAIR1MDataset.METAINFO['classes'].index('Boeing737')
    metric.process({}, [_one_box(gt, det, b737)])
    metrics = metric.evaluate(1)
    tag = round(iou_thr * 100)
    assert metrics[f'fair1m/AP{tag}_Boeing737'] == (1 if iou >= iou_thr
                                                    else 0)


def test_saved_detections_are_keyed_by_img_id(tmp_path):
    metric = FAIR1MMetric(keep_results=True, output_dir=str(tmp_path),
                          nproc=1)
    metric.dataset_meta = FAIR1MDataset.METAINFO
    box = [0, 0, 10, 10]
    metric.process({}, [_one_box(box, box, 0, img_id='P0001'),
                        _one_box(box, box, 0, img_id='P0002')])
    metric.process({}, [_one_box(box, box, 0, img_id='P0003')])
    metric.evaluate(3)
    saved = json.loads((tmp_path / 'fair1m_detections.json').read_text())
    assert sorted(saved) == ['P0001', 'P0002', 'P0003']
