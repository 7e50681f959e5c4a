"""`make demo` end to end: training must clearly beat the untrained model."""
import os
import re
import subprocess
import sys

import pytest
from helpers import REPO


@pytest.mark.slow
def test_demo_improves_miou(tmp_path):
    proc = subprocess.run([
        sys.executable, 'demo/train_demo.py', '--work-dir',
        str(tmp_path / 'work'), '--data-root',
        str(tmp_path / 'shapes')
    ],
                          cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO),
                          capture_output=True,
                          text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = map(
        float,
        re.search(r'mIoU on the val split: ([\d.]+) before training, '
                  r'([\d.]+) after', proc.stdout).groups())
    assert after > before + 30, (before, after)
    vis = tmp_path / 'work' / 'vis' / 'vis_data' / 'vis_image'
    assert len(list(vis.glob('test_*.png'))) == 8
