"""Resizing SAM's position parameters for another input resolution."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor


def resize_abs_pos_embed(pos_embed: Tensor, size: Tuple[int, int]) -> Tensor:
    """Bicubically resize a (1, H, W, C) absolute position embedding."""
    if tuple(pos_embed.shape[1:3]) == tuple(size):
        return pos_embed
    resized = F.interpolate(
        pos_embed.permute(0, 3, 1, 2).float(),
        size=size,
        mode='bicubic',
        align_corners=False)
    return resized.permute(0, 2, 3, 1).to(pos_embed.dtype)


def resize_rel_pos(rel_pos: Tensor, length: int) -> Tensor:
    """Linearly resize a (2S-1, C) relative position table to ``length`` rows.

    Same interpolation as ``segment_anything``'s ``get_rel_pos`` applies at run
    time, so resizing at load time changes nothing numerically.
    """
    if rel_pos.shape[0] == length:
        return rel_pos
    resized = F.interpolate(
        rel_pos.t().unsqueeze(0).float(), size=length, mode='linear')
    return resized.squeeze(0).t().to(rel_pos.dtype)
