from .checkpoint_compat import allow_mmengine_checkpoints
from .hooks import TrainableParamsHook, count_parameters

allow_mmengine_checkpoints()

__all__ = [
    'TrainableParamsHook', 'count_parameters', 'allow_mmengine_checkpoints'
]
