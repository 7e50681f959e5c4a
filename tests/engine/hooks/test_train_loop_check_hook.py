"""An epoch-based loop over the configs' infinite sampler stops before the
first iteration instead of running its first epoch forever."""
import pytest
from helpers import tiny_config
from mmengine.runner import Runner

from mmseg_mopeft.engine.hooks import TrainLoopCheckHook

CONFIG = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'

pytestmark = pytest.mark.usefixtures('unformatted_config_text')


def _epoch_config(tmp_path, cryo_root):
    cfg = tiny_config(CONFIG, cryo_root, str(tmp_path))
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1,
                         val_interval=10)
    cfg.param_scheduler = []  # the base's are iteration-based
    return cfg


def test_epoch_loop_over_infinite_sampler_is_refused(tmp_path, cryo_root):
    """Called directly: were it broken, ``runner.train()`` would hang."""
    runner = Runner.from_cfg(_epoch_config(tmp_path, cryo_root))
    hooks = [h for h in runner.hooks if isinstance(h, TrainLoopCheckHook)]
    assert len(hooks) == 1  # default_runtime.py registers it
    with pytest.raises(ValueError, match=r'EpochBasedTrainLoop over '
                       r'train_dataloader.sampler=SeededInfiniteSampler'):
        hooks[0].before_train(runner)


def test_epoch_loop_over_a_finite_sampler_ends(tmp_path, cryo_root):
    cfg = _epoch_config(tmp_path, cryo_root)
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 1 and runner.iter == len(runner.train_dataloader)
