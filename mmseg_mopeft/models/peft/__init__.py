from .adapter import Adapter
from .base import BlockTuner
from .gates import Gate
from .lora import LoRA
from .method import PEFT_METHODS, PEFTMethod
from .prefix import Prefix, fold_prefixes
from .switch import peft_disabled
from .tuner import PEFTTuner, build_tuners

__all__ = [
    'Adapter', 'BlockTuner', 'Gate', 'LoRA', 'PEFT_METHODS', 'PEFTMethod',
    'PEFTTuner', 'Prefix', 'build_tuners', 'fold_prefixes', 'peft_disabled'
]
