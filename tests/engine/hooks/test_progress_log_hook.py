"""ProgressLogHook: about ten progress lines on a small test split."""
import re

import pytest
from helpers import tiny_config
from mmengine.runner import Runner

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.engine.hooks import ProgressLogHook

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


def _logged_iters(log_file):
    """Iterations with a progress line (the metrics line repeats 12)."""
    text = open(log_file).read()
    return sorted(
        {int(n)
         for n in re.findall(r'Iter\(test\) \[\s*(\d+)/12\]', text)})


def test_interval_fits_the_split_and_is_restored(tmp_path):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 1), ('val', 12)),
        size=32, num_classes=2)
    cfg = tiny_config(CONFIG, root, str(tmp_path / 'work'))
    cfg.default_hooks.logger.interval = 50  # mmseg's default
    cfg.custom_hooks.append(dict(type='ProgressLogHook', lines=5))
    runner = Runner.from_cfg(cfg)
    runner.test()
    # 12 batches, 5 lines wanted: every ceil(12 / 5) = 3
    assert _logged_iters(runner.logger.log_file) == [3, 6, 9, 12]
    logger, = [h for h in runner.hooks if type(h).__name__ == 'LoggerHook']
    assert logger.interval == 50


def test_never_raises_the_interval(tmp_path):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 1), ('val', 12)),
        size=32, num_classes=2)
    cfg = tiny_config(CONFIG, root, str(tmp_path / 'work'))
    cfg.default_hooks.logger.interval = 2
    cfg.custom_hooks.append(dict(type='ProgressLogHook', lines=3))
    runner = Runner.from_cfg(cfg)
    runner.test()
    assert _logged_iters(runner.logger.log_file) == [2, 4, 6, 8, 10, 12]


def test_lines_must_be_positive():
    with pytest.raises(ValueError, match='lines=0 must be >= 1'):
        ProgressLogHook(lines=0)
