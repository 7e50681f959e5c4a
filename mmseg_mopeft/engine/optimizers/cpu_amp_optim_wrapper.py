"""Mixed-precision training without a GPU (``tools/train.py --amp`` on CPU).

mmengine's ``AmpOptimWrapper`` asserts a GPU: it scales the loss for fp16
with a CUDA ``GradScaler``. On CPU we autocast to bf16 instead, which keeps
fp32's exponent range, so no loss scaling is needed and the plain
``OptimWrapper`` update applies. CPUs with bf16 dot-product units (AVX512-BF16,
AMX) run the matmuls and convolutions faster; parameters, gradients and
optimizer state stay fp32.
"""
from contextlib import contextmanager

from mmengine import device
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from .autocast import mixed_precision


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass (``optim_context``) runs under
    bf16 autocast on CPU. Same arguments as ``OptimWrapper``."""

    def __init__(self, **kwargs):
        # CPU autocast leaves GPU tensors alone: there it would silently
        # train in fp32
        runs_on = device.get_device()
        if runs_on != 'cpu':
            raise RuntimeError(
                f'CPUAmpOptimWrapper autocasts on CPU, but training runs on '
                f'{runs_on}: use AmpOptimWrapper there (tools/train.py '
                f'--amp picks it)')
        super().__init__(**kwargs)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), mixed_precision('cpu', 'bf16'):
            yield
