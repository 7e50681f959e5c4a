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
# scores are probabilities in [0, 1]; float32 graphs differ in summation
# order only
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


@pytest.mark.slow  # the dynamo export takes about a minute per model
@pytest.mark.parametrize('config', [LORA, MOPEFT])
def test_onnxruntime_matches_pytorch_with_any_batch(config, tmp_path,
                                                    tiny_sam_ckpt):
    import onnxruntime as ort
    tool = _tool()
    model, config_path, ckpt = _checkpoint(config, tmp_path,
                                           tiny_sam_ckpt[0])
    folded = tool.load_for_export(config_path, ckpt)
    out = str(tmp_path / 'model.onnx')
    tool.export(folded, (64, 64), out)
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
