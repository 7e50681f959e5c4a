from .checkpoint_keys_check_hook import (CheckpointKeysCheckHook,
                                         set_checkpoint_keys_check)
from .checkpoint_recovery_hook import CheckpointRecoveryHook
from .config_variables_check_hook import ConfigVariablesCheckHook
from .cpu_malloc_hook import CPUMallocHook
from .gate_recorder_hook import GateRecorderHook
from .iteration_seed_hook import IterationSeedHook
from .num_classes_check_hook import NumClassesCheckHook
from .peft_checkpoint_hook import PEFTCheckpointHook
from .progress_log_hook import ProgressLogHook
from .sam_checkpoint_check_hook import SAMCheckpointCheckHook
from .train_loop_check_hook import TrainLoopCheckHook
from .trainable_params_hook import TrainableParamsHook, count_parameters

__all__ = [
    'CPUMallocHook', 'GateRecorderHook', 'IterationSeedHook',
    'PEFTCheckpointHook', 'ProgressLogHook',
    'TrainableParamsHook', 'count_parameters'
]
__all__ += [
    'CheckpointKeysCheckHook', 'CheckpointRecoveryHook',
    'ConfigVariablesCheckHook', 'NumClassesCheckHook',
    'SAMCheckpointCheckHook', 'TrainLoopCheckHook', 'set_checkpoint_keys_check'
]
