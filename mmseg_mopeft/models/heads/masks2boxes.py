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
   ``[c, c + 1) x [r, r + 1)``, hence ``x2 = last column + 1``.
4. An empty mask gives no box (``valid`` is False).
"""
from typing import Tuple

import cv2
import numpy as np
import torch
from torch import Tensor


def masks_to_boxes(masks: Tensor,
                   min_component_ratio: float = 0.1) -> Tuple[Tensor, Tensor]:
    """(N, H, W) binary masks -> boxes (N, 4) float x1, y1, x2, y2 in pixels
    and ``valid`` (N,) bool; invalid rows (empty masks) are zeros.

    The tight box of all pixels is found on the masks' device; components are
    then labelled on the CPU within that box only (small for most objects).
    """
    masks = masks.detach().bool()
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    valid = rows.any(dim=1)
    boxes = torch.stack([
        _first(cols), _first(rows), cols.shape[1] - _first(cols.flip(1)),
        rows.shape[1] - _first(rows.flip(1))
    ], dim=1).float() * valid[:, None]
    if min_component_ratio <= 0:
        return boxes, valid
    for i in torch.nonzero(valid).squeeze(1).tolist():
        x1, y1, x2, y2 = boxes[i].long().tolist()
        crop = masks[i, y1:y2, x1:x2].to('cpu', torch.uint8).numpy()
        box = _enclosing_box(crop, min_component_ratio) + (x1, y1, x1, y1)
        boxes[i] = boxes.new_tensor(box)
    return boxes, valid


def _first(flags: Tensor) -> Tensor:
    """Index of the first True per row (0 for rows without any)."""
    return flags.byte().argmax(dim=1)


def _enclosing_box(mask: np.ndarray, min_ratio: float) -> np.ndarray:
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:]  # row 0 is the background
    area = stats[:, cv2.CC_STAT_AREA]
    kept = stats[area >= min_ratio * area.max()]
    x1 = kept[:, cv2.CC_STAT_LEFT]
    y1 = kept[:, cv2.CC_STAT_TOP]
    return np.array([
        x1.min(),
        y1.min(), (x1 + kept[:, cv2.CC_STAT_WIDTH]).max(),
        (y1 + kept[:, cv2.CC_STAT_HEIGHT]).max()
    ], np.float32)
