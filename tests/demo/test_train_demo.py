"""`make demo` (demo/train_demo.py) end to end: training clearly beats the
untrained model, and the demo writes what it says it wrote (prediction
drawings, gate-usage figures, training curve) and prints the trainable
share."""
import os
import re
import subprocess
import sys

import pytest
from helpers import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_mopeft.engine import count_parameters


@pytest.mark.slow
def test_demo_improves_miou_and_writes_its_outputs(tmp_path):
    work = tmp_path / 'work'
    proc = subprocess.run([
        sys.executable, 'demo/train_demo.py', '--work-dir',
        str(work), '--data-root',
        str(tmp_path / 'shapes')
    ],
                          cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO),
                          capture_output=True,
                          text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    before, after = map(
        float,
        re.search(r'mIoU on the val split: ([\d.]+) before training, '
                  r'([\d.]+) after', out).groups())
    assert after > before + 30, (before, after)
    trainable, total = map(
        lambda s: int(s.replace(',', '')),
        re.search(r'MoPEFT trains ([\d,]+) of ([\d,]+) parameters',
                  out).groups())
    cfg = Config.fromfile(f'{REPO}/configs/demo/mopeft_vitb_shapes-128.py')
    cfg.model.backbone.init_cfg = cfg.model.decode_head.init_cfg = None
    assert (trainable, total) == count_parameters(MODELS.build(cfg.model))
    assert f'({100 * trainable / total:.2f}% of all parameters)' in out
    # every output in the run's own log folder: a rerun overwrites nothing
    run, = [p for p in work.iterdir() if p.is_dir()]
    vis = run / 'vis_data' / 'vis_image'
    assert f'Predictions (ground truth left, prediction right): {vis}' in out
    assert len(list(vis.glob('test_*.png'))) == 8
    for name in ('gate_usage.png', 'gate_heatmap.png', 'training_curve.png'):
        assert str(run / name) in out
        assert (run / name).stat().st_size > 10000, name
