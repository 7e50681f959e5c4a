from .gate_recorder_hook import GateRecorderHook
from .trainable_params_hook import TrainableParamsHook, count_parameters

__all__ = ['GateRecorderHook', 'TrainableParamsHook', 'count_parameters']
