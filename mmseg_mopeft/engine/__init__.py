from .checkpoint_compat import allow_mmengine_checkpoints
from .checkpoint_io import register_checkpoint_io
from .hooks import GateRecorderHook, TrainableParamsHook, count_parameters
from .optimizers import CPUAmpOptimWrapper, mixed_precision

allow_mmengine_checkpoints()
register_checkpoint_io()  # atomic checkpoint writes, clear read errors

__all__ = [
    'GateRecorderHook', 'TrainableParamsHook', 'count_parameters',
    'allow_mmengine_checkpoints', 'CPUAmpOptimWrapper', 'mixed_precision'
]
