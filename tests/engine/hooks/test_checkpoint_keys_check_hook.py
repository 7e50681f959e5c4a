"""A checkpoint that leaves model weights missing, unexpected or of another
shape is refused when loaded (tools/test.py, load_from), unless partial
loading is asked for."""
import copy
import logging
import os.path as osp
import sys

import pytest
import torch
from helpers import REPO, run_tool, tiny_config
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_mopeft.engine.hooks import set_checkpoint_keys_check
from mmseg_mopeft.testing import logged_messages

LORA = 'configs/lora/lora_vitb_cryonuseg.py'
DECODER_FT = 'configs/decoder_ft/decoder_ft_vitb_cryonuseg.py'


pytestmark = pytest.mark.usefixtures('unformatted_config_text')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, cryo_root):
    """(cfg, checkpoint) of the LoRA config: the whole model as mmengine
    saves it (PEFT checkpoints, completed while loading, are tested with
    PEFTCheckpointHook)."""
    work = tmp_path_factory.mktemp('lora')
    cfg = tiny_config(LORA, cryo_root, str(work))
    return cfg, _save(MODELS.build(cfg.model).state_dict(),
                      str(work / 'whole.pth'))


def _save(state_dict, path, meta=None):
    torch.save(dict(state_dict=state_dict, meta=meta or {}), path)
    return path


def _runner(cfg, checkpoint, tmp_path, allow_partial=False):
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(tmp_path)
    cfg.load_from = checkpoint
    set_checkpoint_keys_check(cfg, allow_partial)
    return Runner.from_cfg(cfg)


def _test(cfg, checkpoint, tmp_path, allow_partial=False):
    return _runner(cfg, checkpoint, tmp_path, allow_partial).test()


def _state_dict_of(config, cryo_root, tmp_path, **head):
    cfg = tiny_config(config, cryo_root, str(tmp_path / 'other'))
    cfg.model.decode_head.update(head)
    model = MODELS.build(cfg.model)
    return _save(model.state_dict(), str(tmp_path / 'other.pth'))


def test_a_checkpoint_of_the_config_loads(trained, tmp_path):
    cfg, ckpt = trained
    metrics = _test(cfg, ckpt, tmp_path)
    assert 0 <= metrics['mIoU'] <= 100


def test_raw_sam_file_is_refused(trained, tmp_path, tiny_sam_ckpt):
    cfg, _ = trained
    with pytest.raises(RuntimeError) as err:
        _test(cfg, tiny_sam_ckpt[0], tmp_path)
    message = str(err.value)
    assert f'Checkpoint {tiny_sam_ckpt[0]} does not fit the model' in message
    assert 'weights are missing' in message
    assert 'keys are not in the model (image_encoder.' in message
    assert 'raw SAM file' in message and '--allow-partial' in message


def test_checkpoint_of_another_method_is_refused(trained, tmp_path,
                                                 cryo_root):
    cfg, _ = trained
    other = _state_dict_of(DECODER_FT, cryo_root, tmp_path)  # no LoRA
    n_lora = sum('lora' in k for k in torch.load(trained[1])['state_dict'])
    with pytest.raises(RuntimeError) as err:
        _test(cfg, other, tmp_path)
    assert f'{n_lora} of the model\'s' in str(err.value)
    assert 'lora' in str(err.value)


def test_other_number_of_classes_is_refused(trained, tmp_path, cryo_root):
    cfg, _ = trained
    other = _state_dict_of(LORA, cryo_root, tmp_path, num_classes=5)
    with pytest.raises(RuntimeError, match='have another shape') as err:
        _test(cfg, other, tmp_path)
    assert '(6, 256) in the checkpoint, (3, 256) in the model' in str(
        err.value)


def test_allow_partial_warns_and_runs(trained, tmp_path, tiny_sam_ckpt):
    cfg, _ = trained
    runner = _runner(cfg, tiny_sam_ckpt[0], tmp_path, allow_partial=True)
    with logged_messages(logging.WARNING, runner.logger) as messages:
        metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
    assert any('Loaded anyway (allow_partial)' in m for m in messages)


def test_peft_record_without_filled_weights_names_the_base(
        trained, tmp_path):
    """A small checkpoint (trained weights only) whose base file did not
    fill the frozen ones: here the records that rebuild them are absent."""
    cfg, _ = trained
    model = MODELS.build(cfg.model)
    trained_only = {
        k: v
        for k, v in model.state_dict().items()
        if k in dict(model.named_parameters())
        and dict(model.named_parameters())[k].requires_grad
    }
    path = _save(trained_only, str(tmp_path / 'small.pth'),
                 meta=dict(peft_base=dict(path='sam.pth', md5='0' * 32)))
    with pytest.raises(RuntimeError) as err:
        _test(cfg, path, tmp_path)
    assert "from its base file ({'path': 'sam.pth'" in str(err.value)
    assert 'base file could not fill them' in str(err.value)


@pytest.mark.slow  # a tools/ process: ~15 s
def test_tools_test_refuses_a_raw_sam_file(trained, tmp_path, tiny_sam_ckpt):
    cfg, _ = trained
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    with pytest.raises(AssertionError, match='raw SAM file'):
        run_tool([
            sys.executable,
            osp.join(REPO, 'tools', 'test.py'), config, tiny_sam_ckpt[0],
            '--work-dir',
            str(tmp_path / 'out')
        ])
