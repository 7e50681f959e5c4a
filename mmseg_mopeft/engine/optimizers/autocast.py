"""One switch for mixed precision in training and benchmarks.

``mixed_precision(device, 'bf16')`` is what ``CPUAmpOptimWrapper`` runs the
forward pass under, and what the benchmarks use for their ``--dtype bf16``
rows, so both measure the same thing.
"""
from contextlib import nullcontext
from typing import ContextManager

import torch

# name -> autocast dtype (None: plain fp32, no autocast)
PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def device_type(device) -> str:
    """'cuda:1' / torch.device('cpu') -> 'cuda' / 'cpu'."""
    return torch.device(device).type


def mixed_precision(device, precision: str) -> ContextManager:
    """Autocast context for ``precision`` ('fp32', 'bf16' or 'fp16') on
    ``device``. Parameters, gradients and optimizer state stay fp32; matmuls
    and convolutions run in the lower precision.

    fp16 is refused on CPU: without loss scaling its small exponent range
    underflows gradients, which mmengine's ``AmpOptimWrapper`` handles on
    GPUs only. bf16 has fp32's exponent range and needs no scaling.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision={precision!r}: choose from '
                         f'{sorted(PRECISIONS)}')
    dtype = PRECISIONS[precision]
    if dtype is None:
        return nullcontext()
    kind = device_type(device)
    if kind == 'cpu' and dtype is torch.float16:
        raise ValueError('precision=fp16 on CPU: use bf16 (fp16 needs loss '
                         'scaling, which only runs on GPUs)')
    return torch.autocast(device_type=kind, dtype=dtype)
