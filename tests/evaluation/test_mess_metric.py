"""MESSIoUMetric against a hand-computed confusion matrix."""
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_mopeft.evaluation import MESSIoUMetric


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


def test_results_table_merges_paxray_and_averages_domains(tmp_path):
    import json
    import subprocess
    import sys

    from helpers import REPO
    from mmengine.config import Config
    runs = dict(cryonuseg=(60.0, 40.0), paxray_lungs=(90.0, 85.0),
                paxray_bones=(70.0, 55.0), deepcrack=(80.0, 65.0))
    dirs = []
    for key, (miou, coi) in runs.items():
        work = tmp_path / key
        (work / '20260101_000000').mkdir(parents=True)
        Config.fromfile(f'{REPO}/configs/lora/lora_vitb_{key}.py').dump(
            str(work / f'lora_vitb_{key}.py'))
        (work / '20260101_000000' / '20260101_000000.json').write_text(
            json.dumps({'aAcc': 99.0, 'mIoU': miou, 'CoI-mIoU': coi}))
        dirs.append(str(work))
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/mess_results.py', *dirs],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert '| Medical Sciences | CryoNuSeg | 60.00 | 40.00 |' in lines
    # PAXRay-4 = mean of the tasks present (2 of 4 here, and it says so)
    assert ('| Medical Sciences | PAXRay-4 (2/4 tasks) | 80.00 | 70.00 |'
            in lines)
    assert '| Medical Sciences | **mean** | 70.00 | 55.00 |' in lines
    assert '| Engineering | **mean** | 80.00 | 65.00 |' in lines
    assert '| all | **mean of 3** | 73.33 | 58.33 |' in lines
