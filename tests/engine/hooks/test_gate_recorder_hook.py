"""GateRecorderHook under test-time augmentation: one row per image, the
mean of its views' gates."""
import numpy as np
import pytest
from helpers import gate_record, tiny_config
from mmengine.runner import Runner
from torch import nn

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.engine.hooks.gate_recorder_hook import find_backbone

CONFIG = 'configs/mopeft/mopeft_vitb_cryonuseg.py'


def test_tta_gates_are_the_mean_over_views(tmp_path, tiny_sam_ckpt):
    root = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 1), ('val', 2)), size=64,
        num_classes=2)
    cfg = tiny_config(CONFIG, root, str(tmp_path / 'work'), tiny_sam_ckpt[0])
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    cfg.custom_hooks.append(dict(type='GateRecorderHook'))
    runner = Runner.from_cfg(cfg)
    runner.test()
    with np.load(gate_record(tmp_path / 'work')) as data:
        recorded = {k: data[k] for k in data.files if k != 'img_paths'}

    # independently: every view through the segmentor, gates read directly
    segmentor = runner.model.module
    tuners = [block.tuner for block in segmentor.backbone.blocks]
    for tuner in tuners:
        tuner.record_gates = True
    for i, batch in enumerate(runner.test_dataloader):  # one image a batch
        views = []
        for j in range(len(batch['inputs'])):
            segmentor.test_step({k: v[j] for k, v in batch.items()})
            views.append({
                name: [float(t.last_gates[name][0]) for t in tuners]
                for name in recorded
            })
        assert len(views) == 2  # unflipped and flipped
        for name, values in recorded.items():
            per_view = np.array([view[name] for view in views])
            assert np.abs(per_view[0] - per_view[1]).max() > 0  # not moot
            np.testing.assert_allclose(
                values[i], per_view.mean(axis=0), rtol=0, atol=1e-6)


def test_a_model_without_backbone_is_named():
    with pytest.raises(AttributeError, match='Linear has no backbone'):
        find_backbone(nn.Linear(2, 2))
