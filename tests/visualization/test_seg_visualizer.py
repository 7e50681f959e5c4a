"""SegVisualizer: mmseg's drawing on non-contiguous images (what
browse_dataset.py passes) and the TensorBoard switch."""
import glob
import json
import os.path as osp
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers import run_tool, tiny_config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.visualization import SegVisualizer

ALPHA = 0.8  # SegLocalVisualizer's default blend


def _sample(labels):
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(labels)[None])
    return sample


def test_draws_on_a_non_contiguous_image_with_a_numpy_palette(tmp_path):
    rng = np.random.default_rng(0)
    chw = rng.integers(0, 256, (3, 40, 48), dtype=np.uint8)
    image = chw.transpose(1, 2, 0)[..., [2, 1, 0]]  # as browse_dataset.py
    labels = np.zeros((40, 48), np.int64)
    labels[5:20, 5:25] = 1
    labels[30:, 30:] = 255  # ignored
    palette = np.array([[0, 0, 0], [200, 30, 60]])
    vis = SegVisualizer(alpha=ALPHA)
    vis.dataset_meta = dict(classes=('background', 'thing'), palette=palette)
    out = str(tmp_path / 'drawn.png')
    vis.add_datasample('x', image, _sample(labels), draw_pred=False,
                       out_file=out)
    drawn = mmcv.bgr2rgb(mmcv.imread(out))
    colours = np.zeros_like(image)
    colours[labels == 1] = palette[1]
    expected = (image * (1 - ALPHA) + colours * ALPHA).astype(np.uint8)
    close = np.abs(drawn.astype(int) - expected).max(axis=2) <= 1
    assert close.mean() > 0.8  # the rest: the class names' label boxes
    assert close[labels == 255].all()


@pytest.mark.slow  # trains in a subprocess
def test_tensorboard_switch_writes_the_logged_scalars(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 2), ('val', 1)), size=64,
        num_classes=2)
    cfg = tiny_config('configs/decoder_ft/decoder_ft_vitb_cryonuseg.py',
                      root, str(tmp_path / 'work'), max_iters=2)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool([
        sys.executable, 'tools/train.py', cfg_file, '--cfg-options',
        'visualizer.tensorboard=True'
    ])
    events, = glob.glob(
        str(tmp_path / 'work' / '*' / 'vis_data' / 'events.out.tfevents.*'))
    board = EventAccumulator(osp.dirname(events))
    board.Reload()
    logged = [
        json.loads(line) for line in open(
            glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                          'scalars.json'))[0])
    ]
    losses = {row['step']: row['loss'] for row in logged if 'loss' in row}
    assert sorted(losses) == [1, 2]
    scalars = {e.step: e.value for e in board.Scalars('loss')}
    assert sorted(scalars) == [1, 2]
    for step, value in losses.items():
        assert abs(scalars[step] - value) < 1e-4 * max(1, abs(value))
    assert 'mIoU' in board.Tags()['scalars']  # the validation at iter 2


def test_tensorboard_switch_names_the_extra_when_missing(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec',
        lambda name, *a: None if name == 'tensorboard' else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install -e '\.\[vis\]'"):
        SegVisualizer(name='no_tb', tensorboard=True)
