from .gt_prompts import GTPromptSampler
from .sampling import (PROMPT_TYPES, box_iou, noisy_box, object_rng,
                       oracle_box, oracle_point, random_point, target_masks)

__all__ = [
    'GTPromptSampler', 'PROMPT_TYPES', 'box_iou', 'noisy_box', 'object_rng',
    'oracle_box', 'oracle_point', 'random_point', 'target_masks'
]
