from .checkpoint import (SAM_CHECKPOINTS, load_sam_state_dict,
                         load_state_dict_checked)
from .onednn_linear import OneDNNLinear
from .pos_embed import resize_abs_pos_embed, resize_rel_pos

__all__ = [
    'OneDNNLinear', 'SAM_CHECKPOINTS', 'load_sam_state_dict',
    'load_state_dict_checked', 'resize_abs_pos_embed', 'resize_rel_pos'
]
