from .gate_recorder_hook import GateRecorderHook
from .iteration_seed_hook import IterationSeedHook
from .progress_log_hook import ProgressLogHook
from .trainable_params_hook import TrainableParamsHook, count_parameters

__all__ = [
    'GateRecorderHook', 'IterationSeedHook', 'ProgressLogHook',
    'TrainableParamsHook', 'count_parameters'
]
