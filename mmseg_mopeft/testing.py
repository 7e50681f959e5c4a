"""Helpers for tests and demos.

Official-format SAM checkpoints made locally: official weights cannot be
downloaded everywhere; a randomly initialised ``segment_anything`` model
saved with ``state_dict()`` has exactly the keys and layout of the released
files. And the messages a piece of code logs, for tests that check them.
"""
import logging
from contextlib import contextmanager
from functools import partial
from typing import Iterator, List, Optional

import torch
from mmengine.logging import MMLogger
from segment_anything.modeling import (ImageEncoderViT, MaskDecoder,
                                       PromptEncoder, Sam, TwoWayTransformer)

from .models.backbones.sam_vit import ARCH_SETTINGS


def build_reference_sam(arch='tiny',
                        img_size: int = 64,
                        window_size: int = 14,
                        randomize: bool = True,
                        seed: int = 0) -> Sam:
    """A ``segment_anything`` SAM built like ``build_sam``'s, any size.

    ``randomize`` draws every parameter at random (SAM zero-initialises
    position embeddings, which would hide bugs in tests).
    """
    setting = ARCH_SETTINGS[arch] if isinstance(arch, str) else arch
    torch.manual_seed(seed)
    grid = img_size // 16
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=img_size,
            embed_dim=setting['embed_dims'],
            depth=setting['depth'],
            num_heads=setting['num_heads'],
            global_attn_indexes=setting['global_attn_indexes'],
            window_size=window_size,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            out_chans=256),
        prompt_encoder=PromptEncoder(
            embed_dim=256,
            image_embedding_size=(grid, grid),
            input_image_size=(img_size, img_size),
            mask_in_chans=16),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
            transformer_dim=256))
    if randomize:
        with torch.no_grad():
            for name, param in sam.named_parameters():
                if param.dim() == 1 and name.endswith('weight'):
                    param.normal_(1.0, 0.1)  # normalisation scales
                else:
                    param.normal_(0, 0.05)
    return sam.eval()


def save_sam_checkpoint(path: str, **kwargs) -> Sam:
    """Save a reference SAM's ``state_dict()`` like the official files."""
    sam = build_reference_sam(**kwargs)
    torch.save(sam.state_dict(), path)
    return sam


@contextmanager
def logged_messages(level: int = logging.INFO,
                    logger: Optional[logging.Logger] = None
                    ) -> Iterator[List[str]]:
    """Collect the messages ``logger`` (MMLogger's current instance) logs
    at ``level`` or above inside the ``with`` block."""
    logger = logger or MMLogger.get_current_instance()
    messages: List[str] = []
    handler = logging.Handler(level)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
