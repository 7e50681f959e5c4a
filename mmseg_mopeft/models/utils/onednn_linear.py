"""fp32 linear layers through oneDNN on the CPUs where that is faster.

On CPUs PyTorch runs an fp32 ``F.linear`` on MKL's sgemm. oneDNN's matmul,
which PyTorch ships for its compiler (``mkldnn::_linear_pointwise``), ran
ViT-B's token-by-channel products 1.2x to 2.0x as fast on this project's
two AMD CPUs (README, Efficiency), and the products of the input gradient
1.3x on the first. On its Intel CPU MKL was as fast forward and faster for
the input gradient (a LoRA step took 0.88x the time on ``F.linear``): MKL
runs its best kernels on Intel's CPUs only. So ``auto``, the default, takes
oneDNN on AMD's x86 CPUs and ``F.linear`` on all others (where nothing was
measured, PyTorch's own choice stands); the environment variable
``MMSEG_MOPEFT_CPU_LINEAR=onednn|aten|auto`` overrides it.

``OneDNNLinear`` is an ``nn.Linear`` that takes the oneDNN path for fp32
CPU tensors where chosen and ``F.linear`` for everything else: GPUs, bf16
and autocast (where PyTorch already uses oneDNN), tracing, compiling and
export (which need aten ops), and builds without oneDNN.
"""
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.utils.flop_counter import flop_registry, register_flop_formula

ENV_VAR = 'MMSEG_MOPEFT_CPU_LINEAR'


def _onednn_op():
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return None


_LINEAR = _onednn_op() if torch.backends.mkldnn.is_available() else None


def cpu_vendor(cpuinfo: str = '/proc/cpuinfo') -> str:
    """The x86 vendor string (``AuthenticAMD``, ``GenuineIntel``), or ''
    where the system does not say (other OSes and architectures)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'vendor_id':
                    return value.strip()
    except OSError:
        pass
    return ''


def choose_backend(setting: str, vendor: str, available: bool) -> str:
    """``onednn`` or ``aten`` (``F.linear``) for fp32 CPU products, from
    ``setting`` (``auto``, ``onednn`` or ``aten``), the CPU's vendor and
    whether this torch build has oneDNN's op."""
    if setting not in ('auto', 'onednn', 'aten'):
        raise ValueError(f'{ENV_VAR}={setting!r}: expected auto, onednn or '
                         'aten')
    if setting == 'onednn' and not available:
        raise ValueError(f'{ENV_VAR}=onednn: this torch build has no '
                         'oneDNN linear op (mkldnn::_linear_pointwise)')
    if setting == 'auto':
        return 'onednn' if available and vendor == 'AuthenticAMD' else 'aten'
    return setting


# chosen once, at import; tests and benchmarks may set it to either
BACKEND = choose_backend(
    os.environ.get(ENV_VAR, 'auto'), cpu_vendor(), _LINEAR is not None)


def _onednn(x: Tensor, weight: Tensor, bias=None) -> Tensor:
    """``x @ weight.T + bias`` by oneDNN (``weight``: out x in features)."""
    return _LINEAR(x, weight, bias, 'none', [], '')


def uses_onednn(x: Tensor, weight: Tensor, bias=None) -> bool:
    """Whether ``onednn_linear`` takes oneDNN's path for these operands:
    ``BACKEND`` is oneDNN, fp32 on a CPU, outside autocast, tracing,
    compiling and export, and of the shapes ``F.linear`` takes without
    broadcasting (other shapes get ``F.linear``'s error or broadcast)."""
    return (BACKEND == 'onednn' and x.device.type == 'cpu'
            and x.dtype == weight.dtype == torch.float32
            and weight.device.type == 'cpu' and x.dim() >= 2
            and weight.dim() == 2 and x.shape[-1] == weight.shape[1]
            and (bias is None or (bias.shape == weight.shape[:1]
                                  and bias.dtype == weight.dtype))
            and not torch.is_autocast_enabled('cpu')
            and not torch.jit.is_tracing() and not torch.jit.is_scripting()
            and not torch.compiler.is_compiling()
            and not torch.compiler.is_exporting())


class _LinearFunction(torch.autograd.Function):
    """oneDNN's product forward and for the input's gradient; the weight's
    gradient stays on aten's ``mm``, which was as fast there."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x if weight.requires_grad else None, weight)
        ctx.has_bias = bias is not None
        return _onednn(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = _onednn(grad_out, weight.t())
        if ctx.needs_input_grad[1]:
            grad_weight = grad_out.reshape(-1, grad_out.shape[-1]).t().mm(
                x.reshape(-1, x.shape[-1]))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad_out.reshape(-1, grad_out.shape[-1]).sum(0)
        return grad_x, grad_weight, grad_bias


def onednn_linear(x: Tensor, weight: Tensor, bias=None) -> Tensor:
    """``F.linear``, through oneDNN where ``uses_onednn``."""
    if not uses_onednn(x, weight, bias):
        return F.linear(x, weight, bias)
    tensors = (x, weight) if bias is None else (x, weight, bias)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _LinearFunction.apply(x, weight, bias)
    return _onednn(x, weight, bias)


class OneDNNLinear(nn.Linear):
    """``nn.Linear`` (same parameters and state dict) whose fp32 CPU
    products run on oneDNN where ``BACKEND`` says so."""

    def forward(self, x: Tensor) -> Tensor:
        return onednn_linear(x, self.weight, self.bias)


def _linear_flops(x_shape, w_shape, *args, **kwargs) -> int:
    """torch's FLOP counter: 2 per multiply-add, like ``addmm``."""
    rows = 1
    for size in x_shape[:-1]:
        rows *= size
    return 2 * rows * x_shape[-1] * w_shape[0]


# unless torch counts the op itself (registering twice is an error)
if _LINEAR is not None and _LINEAR not in flop_registry:
    register_flop_formula(_LINEAR)(_linear_flops)
