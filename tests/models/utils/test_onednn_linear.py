"""OneDNNLinear: F.linear's values and gradients on oneDNN's path, F.linear
wherever that path does not apply or is not chosen for the CPU."""
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from mmseg_mopeft.models.utils import OneDNNLinear
from mmseg_mopeft.models.utils import onednn_linear as module
from mmseg_mopeft.models.utils.onednn_linear import (_LINEAR, ENV_VAR,
                                                     choose_backend,
                                                     cpu_vendor, onednn_linear,
                                                     uses_onednn)

needs_onednn = pytest.mark.skipif(
    _LINEAR is None, reason='this torch build has no oneDNN linear op')


@pytest.fixture(autouse=True)
def onednn_backend(monkeypatch):
    """oneDNN's path, whichever this CPU would take by default."""
    if _LINEAR is not None:
        monkeypatch.setattr(module, 'BACKEND', 'onednn')


def _ops(task):
    """The ops torch's FLOP counter saw while running ``task``."""
    with FlopCounterMode(display=False) as counter:
        task()
    return {str(op) for op in counter.get_flop_counts()['Global']}


def _operands(shape=(2, 5, 7, 24), out=40, bias=True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=gen)
    weight = torch.randn(out, shape[-1], generator=gen)
    return x, weight, torch.randn(out, generator=gen) if bias else None


@needs_onednn
@pytest.mark.parametrize('bias', [True, False])
def test_forward_equals_f_linear_on_onednn(bias):
    x, weight, b = _operands(bias=bias)
    assert uses_onednn(x, weight)
    out = onednn_linear(x, weight, b)
    assert out.shape == (2, 5, 7, 40)
    torch.testing.assert_close(out, F.linear(x, weight, b))
    assert _ops(lambda: onednn_linear(x, weight, b)) == {
        'mkldnn._linear_pointwise'
    }


@needs_onednn
def test_strided_input():
    x, weight, b = _operands(shape=(6, 24))
    wide = torch.randn(6, 48)
    view = wide[:, ::2]  # every other feature: not contiguous
    torch.testing.assert_close(
        onednn_linear(view, weight, b), F.linear(view, weight, b))
    permuted = x.view(2, 3, 24).transpose(0, 1)
    torch.testing.assert_close(
        onednn_linear(permuted, weight, b), F.linear(permuted, weight, b))


@needs_onednn
def test_mismatched_shapes_get_f_linear_error():
    x, weight, b = _operands(shape=(6, 24))
    assert uses_onednn(x, weight, b)
    assert not uses_onednn(x[:, :23], weight, b)
    assert not uses_onednn(x, weight, torch.ones(1))
    assert not uses_onednn(x[0], weight, b)
    with pytest.raises(RuntimeError, match='6x23 and 24x40'):
        onednn_linear(x[:, :23], weight, b)
    # F.linear broadcasts a bias of one value, and takes a single vector
    one = torch.ones(1)
    torch.testing.assert_close(
        onednn_linear(x, weight, one), F.linear(x, weight, one))
    torch.testing.assert_close(
        onednn_linear(x[0], weight, b), F.linear(x[0], weight, b))
    with pytest.raises(RuntimeError):  # as F.linear: a float64 bias
        onednn_linear(x, weight, b.double())


@needs_onednn
@pytest.mark.parametrize('grads', [(True, True, True), (True, False, False),
                                   (False, True, True), (False, True, False)])
def test_gradients_equal_f_linear(grads):
    """Frozen weights (x only) and a frozen input (weights only), as in
    PEFT; the bias may train without the weight (BitFit)."""
    x, weight, b = _operands()
    target = torch.randn(2, 5, 7, 40)

    def run(fn):
        leaves = [t.clone().requires_grad_(g) for t, g in
                  zip((x, weight, b), grads)]
        loss = (fn(*leaves) * target).sum()
        loss.backward()
        return loss, [t.grad for t in leaves]

    loss, grads_ours = run(onednn_linear)
    ref_loss, grads_ref = run(F.linear)
    torch.testing.assert_close(loss, ref_loss)
    for ours, ref, wanted in zip(grads_ours, grads_ref, grads):
        assert (ours is not None) == wanted
        if wanted:
            torch.testing.assert_close(ours, ref)


@needs_onednn
def test_backward_of_input_runs_on_onednn():
    x, weight, b = _operands()
    x.requires_grad_()

    def step():
        onednn_linear(x, weight, b).sum().backward()

    # forward and input gradient, none of aten's matmuls
    assert _ops(step) == {'mkldnn._linear_pointwise'}


@needs_onednn
def test_flop_counter_counts_two_per_multiply_add():
    x, weight, b = _operands()
    with FlopCounterMode(display=False) as counter:
        onednn_linear(x, weight, b)
    assert counter.get_total_flops() == 2 * 70 * 24 * 40
    x.requires_grad_()
    weight.requires_grad_()
    with FlopCounterMode(display=False) as counter:
        onednn_linear(x, weight, b).sum().backward()
    # forward, input gradient and weight gradient
    assert counter.get_total_flops() == 3 * 2 * 70 * 24 * 40


@needs_onednn
def test_autocast_and_bf16_keep_f_linear():
    x, weight, b = _operands()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not uses_onednn(x, weight)
        out = onednn_linear(x, weight, b)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(
        out, F.linear(x.bfloat16(), weight.bfloat16(), b.bfloat16()))
    assert not uses_onednn(x.bfloat16(), weight.bfloat16())
    assert not uses_onednn(x.double(), weight.double())
    assert not uses_onednn(x.to('meta'), weight.to('meta'))


def test_tracing_records_aten_linear():
    """Traced graphs (mmengine's FLOP analyzer, ONNX) need aten's op."""
    layer = OneDNNLinear(24, 40)
    graph = torch.jit.trace(layer, torch.randn(3, 24)).graph
    kinds = {node.kind() for node in graph.nodes()}
    assert 'aten::linear' in kinds
    assert not any(kind.startswith('mkldnn::') for kind in kinds)


def test_module_is_a_linear_with_its_state_dict():
    layer = OneDNNLinear(24, 40)
    assert isinstance(layer, torch.nn.Linear)
    assert set(layer.state_dict()) == {'weight', 'bias'}
    x = torch.randn(3, 24)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight,
                                                  layer.bias))


def test_aten_backend_runs_f_linear(monkeypatch):
    """Where ``F.linear`` is chosen, its ops compute values and gradients."""
    monkeypatch.setattr(module, 'BACKEND', 'aten')
    x, weight, b = _operands()
    assert not uses_onednn(x, weight, b)
    x.requires_grad_()
    out = onednn_linear(x, weight, b)
    assert '_LinearFunction' not in type(out.grad_fn).__name__
    torch.testing.assert_close(out, F.linear(x, weight, b))

    def step():
        onednn_linear(x, weight, b).sum().backward()

    assert 'mkldnn._linear_pointwise' not in _ops(step)


@pytest.mark.parametrize('setting,vendor,available,expected', [
    ('auto', 'AuthenticAMD', True, 'onednn'),
    ('auto', 'GenuineIntel', True, 'aten'),
    ('auto', '', True, 'aten'),
    ('auto', 'AuthenticAMD', False, 'aten'),
    ('onednn', 'GenuineIntel', True, 'onednn'),
    ('aten', 'AuthenticAMD', True, 'aten'),
    ('aten', '', False, 'aten'),
])
def test_backend_choice(setting, vendor, available, expected):
    assert choose_backend(setting, vendor, available) == expected


def test_backend_choice_errors_name_the_variable():
    with pytest.raises(ValueError, match=f"{ENV_VAR}='mkl': expected auto"):
        choose_backend('mkl', 'GenuineIntel', True)
    with pytest.raises(ValueError, match='no oneDNN linear op'):
        choose_backend('onednn', 'AuthenticAMD', False)


def test_cpu_vendor_reads_first_vendor_id(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nvendor_id\t: AuthenticAMD\n'
                       'cpu family\t: 26\n\nprocessor\t: 1\n'
                       'vendor_id\t: GenuineIntel\n')
    assert cpu_vendor(str(cpuinfo)) == 'AuthenticAMD'
    cpuinfo.write_text('processor\t: 0\nCPU implementer\t: 0x41\n')
    assert cpu_vendor(str(cpuinfo)) == ''
    assert cpu_vendor(str(tmp_path / 'absent')) == ''


@pytest.mark.parametrize('value', ['aten', 'bogus'])
def test_environment_variable_sets_backend_at_import(value):
    code = ('from mmseg_mopeft.models.utils import onednn_linear as m; '
            'print(m.BACKEND)')
    proc = subprocess.run([sys.executable, '-c', code],
                          env=dict(os.environ, **{ENV_VAR: value}),
                          capture_output=True, text=True)
    if value == 'aten':
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == 'aten'
    else:
        assert proc.returncode != 0
        assert f"{ENV_VAR}='bogus': expected auto, onednn or aten" in \
            proc.stderr
