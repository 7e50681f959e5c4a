"""Masks2Boxes: the box that encloses a predicted object mask.

Rule (applied to a binary mask, i.e. after thresholding the mask
probability, by default at 0.5):

1. Split the mask into 8-connected components.
2. Ignore components with fewer than ``min_component_ratio`` (default 10%)
   of the pixels of the largest component: small stray blobs a mask decoder
   tends to leave around would otherwise stretch the box.
3. The box is the tight box around the pixels of the remaining components
   (so two comparably large blobs give one box enclosing both: the decoder
   said they are one object). Pixel ``(row r, col c)`` covers
   ``[c, c + 1) x [r, r + 1)``, hence ``x2 = last column + 1`` (mmdet's
   ``mask2bbox`` computes it).
4. An empty mask gives no box (``valid`` is False).

With ``cell > 1`` the components of step 1 are found on a grid of
``cell x cell`` blocks (a block belongs to the mask when any of its pixels
does), so blobs less than a block apart count as one; areas (step 2) and
boxes (step 3) are still exact pixel counts and pixel bounds. The detection
head uses the mask decoder's stride (4) as cell: its masks carry no detail
finer than that, and labelling 16 times fewer pixels keeps inference fast
when many query masks are scattered noise.
"""
from typing import Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures.mask import mask2bbox
from torch import Tensor


def masks_to_boxes(masks: Tensor,
                   min_component_ratio: float = 0.1,
                   cell: int = 1) -> Tuple[Tensor, Tensor]:
    """(N, H, W) binary masks -> boxes (N, 4) float x1, y1, x2, y2 in pixels
    and ``valid`` (N,) bool; invalid rows (empty masks) are zeros."""
    masks = masks.detach().bool()
    if min_component_ratio > 0 and masks.numel():
        masks = masks & _kept_components(masks, min_component_ratio, cell)
    valid = masks.flatten(1).any(dim=1)
    return mask2bbox(masks), valid  # mmdet's tight box; zeros when empty


def _kept_components(masks: Tensor, min_ratio: float, cell: int) -> Tensor:
    """(N, H, W) bool: the pixels that belong to kept components."""
    n, h, w = masks.shape
    counts = F.avg_pool2d(  # pixels per block (sum pooling)
        masks[:, None].float(), cell, ceil_mode=True,
        divisor_override=1)[:, 0]
    occupied = counts > 0
    keep = torch.zeros_like(occupied)
    extents = mask2bbox(occupied).long().tolist()
    for i, (x1, y1, x2, y2) in enumerate(extents):
        if x2 == 0:  # empty mask (mask2bbox gives zeros)
            continue
        # label the cells within the mask's extent only (small for objects)
        keep[i, y1:y2, x1:x2] = torch.from_numpy(
            _kept_labels(occupied[i, y1:y2, x1:x2].cpu().numpy(),
                         counts[i, y1:y2, x1:x2].cpu().numpy(), min_ratio))
    keep = keep.repeat_interleave(cell, 1).repeat_interleave(cell, 2)
    return keep[:, :h, :w]


def _kept_labels(occupied: np.ndarray, counts: np.ndarray,
                 min_ratio: float) -> np.ndarray:
    _, labels = cv2.connectedComponents(
        occupied.astype(np.uint8), connectivity=8)
    area = np.bincount(labels.ravel(), weights=counts.ravel())
    area[0] = 0  # background
    return (area >= min_ratio * area.max())[labels] & occupied
