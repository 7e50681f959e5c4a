"""PEFT methods for SAMViT: one file per method, registered in
``PEFT_METHODS`` (see ``method.py`` for what a method is)."""
from .adapter import Adapter
from .bitfit import BitFit
from .builder import build_tuners, resolve_blocks
from .conv_lora import ConvLoRA
from .fold import fold_peft
from .gates import Gate
from .lora import LoRA
from .method import PEFT_METHODS, PLACES, BlockContext, PEFTMethod
from .prefix import Prefix, fold_prefixes
from .ssf import SSF
from .switch import peft_disabled
from .tuner import PEFTTuner

__all__ = [
    'Adapter', 'BitFit', 'BlockContext', 'ConvLoRA', 'Gate', 'LoRA',
    'PEFT_METHODS', 'PLACES', 'PEFTMethod', 'PEFTTuner', 'Prefix', 'SSF',
    'build_tuners', 'fold_peft', 'fold_prefixes', 'peft_disabled',
    'resolve_blocks'
]
