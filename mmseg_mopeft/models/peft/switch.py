"""Run a tuned backbone as plain SAM for a while.

One checkpoint can then answer with and without its tuning (e.g. SAM's own
prompts on the frozen encoder). The methods' places are detached. Methods
that change the frozen weights themselves (BitFit trains the encoder's biases
in place) cannot be switched off this way; callers that need plain SAM must
refuse them (``PromptedSAM`` does).
"""
from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def peft_disabled(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every SAMViT block in ``model`` runs untuned."""
    blocks = [m for m in model.modules() if hasattr(m, 'tuner')]
    saved = [block.tuner for block in blocks]
    try:
        for block in blocks:
            block.tuner = None
        yield model
    finally:
        for block, tuner in zip(blocks, saved):
            block.tuner = tuner
