"""tools/deployment/pytorch2onnx.py: onnxruntime gives PyTorch's scores."""

import numpy as np
import pytest
import torch
from helpers import load_tool, tiny_config
from mmseg.registry import MODELS

from mmseg_mopeft.models.utils.peft_checkpoint import save_peft_checkpoint

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')

LORA = 'configs/lora/lora_vitb_cryonuseg.py'
MOPEFT = 'configs/mopeft/mopeft_vitb_cryonuseg.py'
CONV_LORA = 'configs/conv_lora/conv_lora_vitb_cryonuseg.py'
# float32 graphs differ in summation order only
ATOL = 1e-4


def _tool():
    return load_tool('tools/deployment/pytorch2onnx.py')


def _checkpoint(config, tmp_path, base):
    cfg = tiny_config(config, str(tmp_path), str(tmp_path), base)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.05)
    path = str(tmp_path / 'peft.pth')
    save_peft_checkpoint(model, path)
    config_path = str(tmp_path / 'config.py')
    cfg.dump(config_path)
    return model.eval(), config_path, path


def _main(tool, monkeypatch, *args):
    monkeypatch.setattr('sys.argv', ['pytorch2onnx.py', *args])
    return tool.main()


@pytest.mark.slow  # the dynamo export takes about a minute per model
@pytest.mark.parametrize('config', [LORA, MOPEFT, CONV_LORA])
def test_onnxruntime_matches_pytorch_with_any_batch(config, tmp_path,
                                                    tiny_sam_ckpt,
                                                    monkeypatch):
    """Conv-LoRA's experts, chosen per sample, run all in the graph."""
    import onnxruntime as ort
    tool = _tool()
    model, config_path, ckpt = _checkpoint(config, tmp_path,
                                           tiny_sam_ckpt[0])
    out = str(tmp_path / 'model.onnx')
    assert _main(tool, monkeypatch, config_path, ckpt, '--shape', '64', '64',
                 '--out', out, '--verify') == 0
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64),
                  ori_shape=(64, 64))]
    for batch in (1, 3):  # exported with 2: the batch axis is dynamic
        inputs = torch.randn(batch, 3, 64, 64)
        with torch.no_grad():  # the unfolded PEFT model as trained
            expected = model.encode_decode(inputs, metas * batch).numpy()
        got = session.run(None, {'inputs': inputs.numpy()})[0]
        assert got.shape == expected.shape == (batch, 2, 64, 64)
        assert np.abs(got - expected).max() < ATOL


def test_existing_file_is_not_overwritten(tmp_path, tiny_sam_ckpt):
    tool = _tool()
    _, config_path, ckpt = _checkpoint(LORA, tmp_path, tiny_sam_ckpt[0])
    out = tmp_path / 'model.onnx'
    out.write_text('mine')
    with pytest.raises(FileExistsError, match='model.onnx'):
        tool.export(tool.load_for_export(config_path, ckpt), (64, 64),
                    str(out))
    assert out.read_text() == 'mine'


def test_checkpoint_that_does_not_fit_is_refused(tmp_path, tiny_sam_ckpt):
    tool = _tool()
    base = tiny_sam_ckpt[0]
    _, _, mopeft_ckpt = _checkpoint(MOPEFT, tmp_path, base)
    config_path = str(tmp_path / 'lora.py')
    tiny_config(LORA, str(tmp_path), str(tmp_path), base).dump(config_path)
    with pytest.raises(RuntimeError, match='does not fit') as error:
        tool.load_for_export(config_path, mopeft_ckpt)
    assert mopeft_ckpt in str(error.value)
    assert 'tuner.gates' in str(error.value)


@pytest.mark.slow
def test_verify_compares_with_the_model_before_folding(tmp_path,
                                                       tiny_sam_ckpt,
                                                       monkeypatch):
    """A folding error is in the graph and in the folded model alike: only
    the model as trained shows it."""
    tool = _tool()
    _, config_path, ckpt = _checkpoint(LORA, tmp_path, tiny_sam_ckpt[0])
    fold = tool.fold_peft

    def wrong_fold(model):
        report = fold(model)
        model.backbone.blocks[0].attn.qkv.weight.data.mul_(1.5)
        return report

    monkeypatch.setattr(tool, 'fold_peft', wrong_fold)
    assert _main(tool, monkeypatch, config_path, ckpt, '--shape', '64', '64',
                 '--out', str(tmp_path / 'model.onnx'), '--verify') == 1


@pytest.mark.slow
def test_scores_that_are_not_finite_fail_verification(tmp_path,
                                                      tiny_sam_ckpt,
                                                      monkeypatch):
    """A diverged checkpoint: max(|nan - nan|) is nan, and nan > atol is
    False."""
    tool = _tool()
    _, config_path, ckpt = _checkpoint(LORA, tmp_path, tiny_sam_ckpt[0])
    state = torch.load(ckpt, weights_only=False)
    key = next(k for k in state['state_dict'] if k.endswith('lora_B'))
    state['state_dict'][key][0, 0] = float('nan')
    torch.save(state, ckpt)
    assert _main(tool, monkeypatch, config_path, ckpt, '--shape', '64', '64',
                 '--out', str(tmp_path / 'model.onnx'), '--verify') == 1


def test_outputs_are_checked_before_loading(tmp_path, monkeypatch):
    tool = _tool()
    monkeypatch.setattr(tool, 'load_trained', pytest.fail)
    for shape, out, error in (
        (('64', '64'), str(tmp_path / 'no' / 'm.onnx'), 'does not exist'),
        (('60', '64'), str(tmp_path / 'm.onnx'), 'multiples of 16'),
    ):
        with pytest.raises((FileNotFoundError, ValueError), match=error):
            _main(tool, monkeypatch, 'cfg.py', 'ckpt.pth', '--shape', *shape,
                  '--out', out)
