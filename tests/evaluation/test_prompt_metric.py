"""PromptIoUMetric: one metric per prediction field, side by side."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_mopeft.evaluation import PromptIoUMetric


def sample(gt, **preds):
    out = SegDataSample()
    out.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    for name, pred in preds.items():
        out.set_field(PixelData(data=torch.as_tensor(pred)[None]), name)
    return out


def test_each_metric_scores_its_own_prediction():
    gt = np.array([[0, 0, 1, 1], [0, 1, 1, 255]])
    # 'on' gets everything right; 'off' misses two pixels of class 1, one
    # of them unclaimed (255: no class)
    on = gt.copy()
    off = np.array([[0, 0, 0, 1], [0, 255, 1, 0]])
    evaluator = Evaluator([
        PromptIoUMetric(pred_key=f'pred_{mode}', prefix=mode,
                        iou_metrics=['mIoU']) for mode in ('on', 'off')
    ])
    evaluator.dataset_meta = dict(classes=('a', 'b'),
                                  classes_of_interest=(1, ))
    evaluator.process([sample(gt, pred_on=on, pred_off=off)])
    results = evaluator.evaluate(1)
    # off (the gt-255 pixel ignored): class 0 gt 3, pred 4, tp 3 -> 3/4;
    # class 1 gt 4, pred 2, tp 2 -> 2/4
    assert results['on/mIoU'] == 100.0
    assert results['off/mIoU'] == pytest.approx(100 * (3 / 4 + 2 / 4) / 2)
    assert results['off/CoI-mIoU'] == pytest.approx(50.0)
    assert 'mIoU' not in results


def test_missing_prediction_is_named():
    metric = PromptIoUMetric(pred_key='pred_peft_off_noisy_box',
                             prefix='peft_off/noisy_box')
    metric.dataset_meta = dict(classes=('a', 'b'))
    gt = np.zeros((2, 2), np.int64)
    with pytest.raises(KeyError, match="'pred_peft_off_noisy_box'.*"
                       r"\['pred_oracle_point'\]"):
        metric.process({}, [sample(gt, pred_oracle_point=gt).to_dict()])
