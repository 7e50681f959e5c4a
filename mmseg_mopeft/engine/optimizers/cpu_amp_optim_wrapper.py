"""Mixed-precision training without a GPU (``tools/train.py --amp`` on CPU).

mmengine's ``AmpOptimWrapper`` asserts a GPU: it scales the loss for fp16
with a CUDA ``GradScaler``. On CPU we autocast to bf16 instead, which keeps
fp32's exponent range, so no loss scaling is needed and the plain
``OptimWrapper`` update applies. CPUs with bf16 dot-product units (AVX512-BF16,
AMX) run the matmuls and convolutions faster; parameters, gradients and
optimizer state stay fp32.
"""
from contextlib import contextmanager

from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from .autocast import mixed_precision


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass (``optim_context``) runs under
    bf16 autocast on CPU. Same arguments as ``OptimWrapper``."""

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), mixed_precision('cpu', 'bf16'):
            yield
