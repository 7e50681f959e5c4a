"""One prompt per target object of a ground-truth label map."""
from typing import Dict, List

import numpy as np
from mmseg.registry import TASK_UTILS

from .sampling import (PROMPT_TYPES, noisy_box, object_rng, oracle_box,
                       oracle_point, random_point, target_masks)


@TASK_UTILS.register_module()
class GTPromptSampler:
    """Prompts of the Stable-SAM evaluation protocol.

    Args:
        per: 'class' (a target object is the region of one class in one
            image) or 'component' (each 8-connected component of it).
        seed: Together with the image file name and the object, it fixes
            every random draw, so a rerun gives the same prompts.
        noise_scale, min_iou: Noisy boxes (Stable-SAM: 0.4 and 0.5).
        ignore_index: Label that is no object.
    """

    def __init__(self,
                 per: str = 'class',
                 seed: int = 0,
                 noise_scale: float = 0.4,
                 min_iou: float = 0.5,
                 ignore_index: int = 255):
        if per not in ('class', 'component'):
            raise ValueError(f"GTPromptSampler: per={per!r}; choose 'class' "
                             f"or 'component'")
        self.per = per
        self.seed = seed
        self.noise_scale = noise_scale
        self.min_iou = min_iou
        self.ignore_index = ignore_index

    def __call__(self, gt: np.ndarray, img_path: str,
                 prompt_type: str) -> List[Dict]:
        """``[dict(label=class, point=(1, 2) array) or dict(label=...,
        box=(4,) array)]``, one per target object, in ``gt``'s pixel
        coordinates."""
        if prompt_type not in PROMPT_TYPES:
            raise ValueError(f'Unknown prompt type {prompt_type!r}; choose '
                             f'from {PROMPT_TYPES}')
        prompts = []
        for cls, index, mask in target_masks(gt, self.ignore_index,
                                             self.per):
            rng = object_rng(self.seed, img_path, cls, index)
            if prompt_type == 'oracle_point':
                prompt = dict(point=oracle_point(mask)[None])
            elif prompt_type == 'random_point':
                prompt = dict(point=random_point(mask, rng)[None])
            elif prompt_type == 'oracle_box':
                prompt = dict(box=oracle_box(mask))
            else:
                prompt = dict(
                    box=noisy_box(
                        oracle_box(mask), gt.shape, rng, self.noise_scale,
                        self.min_iou))
            prompts.append(dict(label=cls, **prompt))
        return prompts
