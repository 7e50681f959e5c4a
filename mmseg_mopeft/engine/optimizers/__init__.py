from .autocast import PRECISIONS, mixed_precision
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper

__all__ = ['CPUAmpOptimWrapper', 'PRECISIONS', 'mixed_precision']
