"""bf16 mixed precision without a GPU: the optim wrapper, the autocast
switch, and ``tools/train.py --amp`` end to end."""
import glob
import json
import math
import os
import os.path as osp
import sys

import pytest
import torch
from helpers import REPO, run_tool, tiny_config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmseg_mopeft.datasets import generate_shapes
from mmseg_mopeft.engine import CPUAmpOptimWrapper, mixed_precision

CONFIG = 'configs/mopeft/mopeft_vitb_cryonuseg.py'


@pytest.fixture
def on_cpu(monkeypatch):
    """Where mmengine would train (also on a machine with a GPU)."""
    from mmengine import device
    monkeypatch.setattr(device, 'get_device', lambda: 'cpu')


def _wrapper(model):
    return build_optim_wrapper(
        model,
        dict(
            type='CPUAmpOptimWrapper',
            optimizer=dict(type='SGD', lr=0.1)))


def test_optim_context_autocasts_to_bf16_and_keeps_fp32_weights(on_cpu):
    torch.manual_seed(0)
    model = nn.Linear(8, 4)
    wrapper = _wrapper(model)
    assert isinstance(wrapper, CPUAmpOptimWrapper)
    x = torch.randn(3, 8)
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(x)
        assert torch.is_autocast_enabled('cpu')
    assert out.dtype == torch.bfloat16
    assert model(x).dtype == torch.float32  # only inside the context
    loss = out.float().square().sum()
    # independent: the gradient of sum((xW^T + b)^2) w.r.t. W, in fp32
    expected_grad = 2 * (x @ before.t() + model.bias.detach()).t() @ x
    loss.backward()
    assert model.weight.grad.dtype == torch.float32
    # bf16 rounding of the forward: ~3 significant digits
    torch.testing.assert_close(
        model.weight.grad, expected_grad, rtol=2e-2, atol=2e-2)
    wrapper.step()
    assert model.weight.dtype == torch.float32
    torch.testing.assert_close(model.weight.detach(),
                               before - 0.1 * model.weight.grad)


def test_refuses_to_run_where_training_is_on_a_gpu(monkeypatch):
    from mmengine import device
    monkeypatch.setattr(device, 'get_device', lambda: 'cuda')
    with pytest.raises(RuntimeError, match='training runs on cuda'):
        _wrapper(nn.Linear(2, 2))


def test_mixed_precision_names():
    x, w = torch.randn(2, 4), torch.randn(3, 4)
    with mixed_precision('cpu', 'fp32'):
        assert torch.nn.functional.linear(x, w).dtype == torch.float32
    with mixed_precision(torch.device('cpu'), 'bf16'):
        assert torch.nn.functional.linear(x, w).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision='bf15'"):
        mixed_precision('cpu', 'bf15')
    with pytest.raises(ValueError, match='fp16 on CPU'):
        mixed_precision('cpu', 'fp16')


# Loaded by the training subprocess (custom_imports): records what the
# training step computes in, so the test sees inside tools/train.py.
PROBE = '''
import json
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class AmpProbeHook(Hook):

    def before_train(self, runner):
        self.outputs = []
        qkv = runner.model.backbone.blocks[0].attn.qkv
        qkv.register_forward_hook(
            lambda module, args, out: self.outputs.append(
                [str(out.dtype), module.training]))

    def after_train(self, runner):
        model = runner.model
        optimizer = runner.optim_wrapper.optimizer
        state = [str(v.dtype) for s in optimizer.state.values()
                 for v in s.values() if torch.is_tensor(v) and v.dim()]
        with open(osp.join(runner.work_dir, 'amp_probe.json'), 'w') as f:
            json.dump(dict(
                wrapper=type(runner.optim_wrapper).__name__,
                qkv_outputs=self.outputs,
                param_dtypes=sorted(
                    {str(p.dtype) for p in model.parameters()}),
                optimizer_state_dtypes=sorted(set(state))), f)
'''


def test_tools_train_amp_runs_bf16_on_cpu(tmp_path, tiny_sam_ckpt):
    data = generate_shapes(
        str(tmp_path / 'data'), splits=(('train', 4), ('val', 1)), size=64,
        num_classes=2)
    (tmp_path / 'amp_probe.py').write_text(PROBE)
    cfg = tiny_config(CONFIG, data, str(tmp_path / 'work'), tiny_sam_ckpt[0],
                      max_iters=2)
    cfg.custom_imports = dict(
        imports=['mmseg_mopeft', 'amp_probe'], allow_failed_imports=False)
    cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                        dict(type='AmpProbeHook')]
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    run_tool([sys.executable, 'tools/train.py', cfg_file, '--amp'],
             extra_env=dict(PYTHONPATH=os.pathsep.join(
                 [REPO, str(tmp_path)])))

    probe = json.load(open(tmp_path / 'work' / 'amp_probe.json'))
    assert probe['wrapper'] == 'CPUAmpOptimWrapper'
    train_outputs = [dtype for dtype, training in probe['qkv_outputs']
                     if training]
    # 2 iterations x batch 2 through the first block's q/k/v projection
    assert train_outputs and set(train_outputs) == {'torch.bfloat16'}
    assert probe['param_dtypes'] == ['torch.float32']
    assert probe['optimizer_state_dtypes'] == ['torch.float32']
    scalars = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                            'scalars.json'))
    losses = [
        json.loads(line)['loss'] for line in open(scalars[0])
        if '"loss"' in line
    ]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    ckpt = torch.load(
        osp.join(tmp_path, 'work', 'iter_2.pth'), map_location='cpu')
    assert {v.dtype for v in ckpt['state_dict'].values()
            if v.is_floating_point()} == {torch.float32}
