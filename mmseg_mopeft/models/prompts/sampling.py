"""Prompts drawn from a ground-truth mask, as the Stable-SAM protocol asks.

Coordinates are SAM's: ``(x, y)`` pixel indices (column, row) of the mask
the prompt was drawn from. A box ``(x1, y1, x2, y2)`` spans the pixels from
column ``x1`` to ``x2`` and row ``y1`` to ``y2`` inclusive, as
``segment_anything``'s ``batched_mask_to_box`` writes it, so its area counts
``(x2 - x1 + 1) * (y2 - y1 + 1)`` pixels (also for noisy, fractional boxes).
"""
import hashlib
import os.path as osp
from typing import List, Tuple

import numpy as np
from scipy import ndimage

PROMPT_TYPES = ('oracle_point', 'random_point', 'oracle_box', 'noisy_box')


def oracle_point(mask: np.ndarray) -> np.ndarray:
    """The pixel farthest from the object's boundary (RITM's first click):
    the maximum of the distance transform of the mask padded by one
    background pixel, so that the image border counts as boundary. Ties go
    to the first pixel in row-major order. Returns ``(x, y)``."""
    _check_mask(mask)
    padded = np.pad(mask.astype(bool), 1)
    distance = ndimage.distance_transform_edt(padded)[1:-1, 1:-1]
    row, col = np.unravel_index(np.argmax(distance), distance.shape)
    return np.array([col, row], dtype=np.float64)


def random_point(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One pixel of the object, every pixel equally likely; ``(x, y)``."""
    _check_mask(mask)
    rows, cols = np.nonzero(mask)
    i = rng.integers(len(rows))
    return np.array([cols[i], rows[i]], dtype=np.float64)


def oracle_box(mask: np.ndarray) -> np.ndarray:
    """The tight box ``(x1, y1, x2, y2)`` around the object's pixels."""
    _check_mask(mask)
    rows = np.nonzero(mask.any(axis=1))[0]
    cols = np.nonzero(mask.any(axis=0))[0]
    return np.array([cols[0], rows[0], cols[-1], rows[-1]], dtype=np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes whose corners are inclusive pixel coordinates."""
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(ix, 0) * max(iy, 0)

    def area(box):
        return (box[2] - box[0] + 1) * (box[3] - box[1] + 1)

    return float(inter / (area(a) + area(b) - inter))


def noisy_box(box: np.ndarray,
              image_shape: Tuple[int, int],
              rng: np.random.Generator,
              scale: float = 0.4,
              min_iou: float = 0.5,
              max_tries: int = 1000) -> np.ndarray:
    """The box with each coordinate moved by uniform noise of up to
    ``scale`` times the box's width (x) or height (y), clipped to the image
    and redrawn until its IoU with the box is at least ``min_iou``."""
    box = np.asarray(box, dtype=np.float64)
    h, w = image_shape
    size = np.array([box[2] - box[0] + 1, box[3] - box[1] + 1] * 2)
    upper = np.array([w - 1, h - 1] * 2, dtype=np.float64)
    for _ in range(max_tries):
        noise = rng.uniform(-1.0, 1.0, size=4) * scale * size
        candidate = np.clip(box + noise, 0, upper)
        if candidate[2] < candidate[0] or candidate[3] < candidate[1]:
            continue
        if box_iou(candidate, box) >= min_iou:
            return candidate
    raise RuntimeError(f'noisy_box: no box with IoU >= {min_iou} around '
                       f'{box.tolist()} in {max_tries} draws')


def target_masks(gt: np.ndarray,
                 ignore_index: int = 255,
                 per: str = 'class') -> List[Tuple[int, int, np.ndarray]]:
    """The target objects of a label map as ``(class, index, mask)``:
    ``per='class'`` gives one object per class present (index 0);
    ``per='component'`` one per 8-connected component of each class
    (index = component number, in scan order). Classes ascend."""
    if per not in ('class', 'component'):
        raise ValueError(f"per={per!r}: choose 'class' or 'component'")
    objects = []
    for cls in np.unique(gt):
        if cls == ignore_index:
            continue
        mask = gt == cls
        if per == 'class':
            objects.append((int(cls), 0, mask))
            continue
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        for i in range(count):
            objects.append((int(cls), i, labels == i + 1))
    return objects


def object_rng(seed: int, img_path: str, cls: int,
               index: int) -> np.random.Generator:
    """A generator that depends only on the seed, the image's file name and
    the object, not on what was drawn before (so reruns, other worker counts
    and other datasets' orders give the same prompts). The file name, not the
    folder, so that moving the data keeps the prompts."""
    name = osp.basename(img_path or '')
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    return np.random.default_rng([int(seed), digest, int(cls), int(index)])


def _check_mask(mask: np.ndarray):
    if mask.ndim != 2 or not mask.any():
        raise ValueError(f'expected a non-empty 2-D object mask, got shape '
                         f'{mask.shape} with {int(np.count_nonzero(mask))} '
                         f'pixels set')
