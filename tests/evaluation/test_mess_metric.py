"""MESSIoUMetric against a hand-computed confusion matrix."""
import logging
import os

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from mmseg_mopeft.datasets import FloodNetDataset
from mmseg_mopeft.evaluation import MESSIoUMetric
from mmseg_mopeft.testing import logged_messages


def _sample(pred, gt):
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    return sample.to_dict()


def test_miou_and_coi_miou_match_hand_computation():
    # 4 classes; class 3 is absent from the ground truth and never
    # predicted (skipped), class 2 is absent but predicted (IoU 0).
    gt1 = np.array([[0, 0, 1, 1], [0, 0, 1, 255]])
    pr1 = np.array([[0, 1, 1, 1], [0, 2, 1, 2]])
    gt2 = np.array([[1, 1], [0, 255]])
    pr2 = np.array([[1, 0], [0, 0]])
    # confusion over valid pixels (gt != 255), rows = gt, cols = pred:
    # gt0: pred0 x2, pred1 x1, pred2 x1 (img1); pred0 x1 (img2)
    # gt1: pred1 x3 (img1); pred1 x1, pred0 x1 (img2)
    conf = np.zeros((4, 4))
    for gt, pr in ((gt1, pr1), (gt2, pr2)):
        valid = gt != 255
        np.add.at(conf, (gt[valid], pr[valid]), 1)
    assert conf[0].tolist() == [3, 1, 1, 0]
    assert conf[1].tolist() == [1, 4, 0, 0]
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = tp / np.where(union > 0, union, np.nan)  # class 3: nan, skipped
    expected_miou = np.nanmean(iou) * 100  # (3/6 + 4/6 + 0) / 3
    expected_coi = np.nanmean(iou[[1, 2, 3]]) * 100  # classes 1..3

    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(
        classes=('a', 'b', 'c', 'd'), classes_of_interest=(1, 2, 3))
    metric.process({}, [_sample(pr1, gt1), _sample(pr2, gt2)])
    results = metric.evaluate(2)
    assert abs(results['mIoU'] - round(expected_miou, 2)) < 1e-6
    assert abs(results['CoI-mIoU'] - round(expected_coi, 2)) < 1e-6
    assert abs(expected_miou - 100 * (3 / 6 + 4 / 6) / 3) < 1e-9


def test_nan_to_num_applies_to_coi_miou_as_to_miou():
    """mmseg's nan_to_num turns a class absent from both maps into that
    value before the mean; CoI-mIoU must average the same way."""
    gt, pred = np.array([[0, 0, 1, 1]]), np.array([[0, 1, 1, 1]])
    iou = np.array([1 / 2, 2 / 3, 0.0, 0.0])  # classes 2, 3 absent: nan -> 0
    metric = MESSIoUMetric(iou_metrics=['mIoU'], nan_to_num=0)
    metric.dataset_meta = dict(
        classes=('a', 'b', 'c', 'd'), classes_of_interest=(1, 2, 3))
    metric.process({}, [_sample(pred, gt)])
    results = metric.evaluate(1)
    assert results['mIoU'] == round(100 * iou.mean(), 2)
    assert results['CoI-mIoU'] == round(100 * iou[1:].mean(), 2)


@pytest.mark.parametrize('classes', [(1, 1, 2), ('b', ), (1.0, ), (True, )])
def test_classes_of_interest_must_be_distinct_class_indices(classes):
    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b', 'c'),
                               classes_of_interest=classes)
    metric.process({}, [_sample(np.zeros((2, 2)), np.zeros((2, 2)))])
    with pytest.raises(ValueError, match='must be distinct indices of the 3'):
        metric.evaluate(1)


def test_a_ground_truth_value_that_is_no_class_names_its_file():
    """mmseg's IoUMetric drops such pixels from every count (aAcc 100 on a
    map whose 3s were predicted as 2)."""
    gt, pred = np.array([[0, 1, 3, 255]]), np.array([[0, 1, 2, 2]])
    sample = _sample(pred, gt)
    sample['seg_map_path'] = '/data/ann_dir/test/a.png'
    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    with pytest.raises(ValueError,
                       match=r'/data/ann_dir/test/a.png: ground-truth values '
                       r'\[3\] are no class of the 3 evaluated and not '
                       'ignore_index=255'):
        metric.process({}, [sample])


def test_format_only_scores_nothing_as_iou_metric_does(tmp_path):
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.zeros(1, 2, 2).long())
    sample.set_metainfo(dict(img_path='/x/a.png'))
    results = []
    for cls in (IoUMetric, MESSIoUMetric):
        metric = cls(format_only=True, output_dir=str(tmp_path / cls.__name__))
        metric.dataset_meta = dict(classes=('a', 'b'),
                                   classes_of_interest=(1, ))
        metric.process({}, [sample.to_dict()])
        results.append(metric.evaluate(1))
        assert os.listdir(tmp_path / cls.__name__) == ['a.png']
    assert results[1] == results[0]


def _iou_by_hand(gt, pred, num_classes):
    conf = np.zeros((num_classes, num_classes))
    valid = gt != 255
    np.add.at(conf, (gt[valid], pred[valid]), 1)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    return tp / np.where(union > 0, union, np.nan)


FLOODNET = FloodNetDataset.METAINFO


@pytest.mark.parametrize('subset', [
    ('background', 'building-flooded', 'road-flooded', 'water'),
    ('road-flooded', 'background'),  # reordered; index 3 beyond 2 classes
    ('water', 'road-flooded', 'building-flooded', 'background', 'tree'),
])
def test_coi_miou_follows_a_subset_of_the_classes(subset):
    dataset = FloodNetDataset(metainfo=dict(classes=subset), lazy_init=True,
                              check_prepared=False)
    rng = np.random.default_rng(0)
    gt = rng.integers(0, len(subset), (16, 16))
    pred = np.where(rng.random((16, 16)) < 0.7, gt,
                    rng.integers(0, len(subset), (16, 16)))
    # the classes of interest by name, found in the subset
    names = [FLOODNET['classes'][i] for i in FLOODNET['classes_of_interest']]
    coi = [subset.index(n) for n in names if n in subset]
    expected = np.nanmean(_iou_by_hand(gt, pred, len(subset))[coi]) * 100

    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dataset.metainfo
    metric.process({}, [_sample(pred, gt)])
    assert abs(metric.evaluate(1)['CoI-mIoU'] - round(expected, 2)) < 1e-6


def test_no_class_of_interest_selected_reports_no_coi_miou():
    with logged_messages(logging.WARNING) as messages:
        dataset = FloodNetDataset(
            metainfo=dict(classes=('background', 'water')), lazy_init=True,
            check_prepared=False)
    assert dataset.metainfo['classes_of_interest'] == ()
    text = '\n'.join(messages)
    assert 'building-flooded' in text and 'no CoI-mIoU' in text
    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dataset.metainfo
    gt = np.array([[0, 1], [1, 1]])
    metric.process({}, [_sample(gt, gt)])
    assert metric.evaluate(1) == dict(aAcc=100.0, mIoU=100.0, mAcc=100.0)


def test_given_classes_of_interest_are_indices_into_the_given_classes():
    dataset = FloodNetDataset(
        metainfo=dict(classes=('background', 'water'),
                      classes_of_interest=(1, )),
        lazy_init=True, check_prepared=False)
    assert dataset.metainfo['classes_of_interest'] == (1, )
    metric = MESSIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b'), classes_of_interest=(2, ))
    metric.process({}, [_sample(np.zeros((2, 2)), np.zeros((2, 2)))])
    with pytest.raises(ValueError, match=r'\[2\].*2 classes'):
        metric.evaluate(1)
