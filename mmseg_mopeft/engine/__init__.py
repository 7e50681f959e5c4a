from .checkpoint_compat import allow_mmengine_checkpoints
from .hooks import GateRecorderHook, TrainableParamsHook, count_parameters
from .optimizers import CPUAmpOptimWrapper, mixed_precision

allow_mmengine_checkpoints()

__all__ = [
    'GateRecorderHook', 'TrainableParamsHook', 'count_parameters',
    'allow_mmengine_checkpoints', 'CPUAmpOptimWrapper', 'mixed_precision'
]
