"""Loading the official SAM checkpoint files with clear failures."""
import os.path as osp
from typing import Callable, Dict, Optional

from mmengine.logging import MMLogger
from torch import Tensor, nn

# Official release files (github.com/facebookresearch/segment-anything), md5.
SAM_CHECKPOINTS = {
    'vit-b': ('sam_vit_b_01ec64.pth', '01ec64d29a2fca3f0661936605ae66f8'),
    'vit-l': ('sam_vit_l_0b3195.pth', '0b3195507c641ddb6910d2bb5adee89c'),
    'vit-h': ('sam_vit_h_4b8939.pth', '4b8939a88964f0f4ff5f5b2642c598a6'),
}
SAM_URL = 'https://dl.fbaipublicfiles.com/segment_anything/'


def _missing_file_message(filename: str) -> str:
    files = ', '.join(name for name, _ in SAM_CHECKPOINTS.values())
    return (f'SAM checkpoint not found: {filename!r} (looked for '
            f'{osp.abspath(filename)!r}). Run '
            f'`tools/download_sam_checkpoints.sh` on a machine with internet '
            f'to fetch the official files ({files}) into checkpoints/, or '
            f'download them from {SAM_URL}<name>; see README "SAM weights". '
            f'To start from random weights instead, set the init_cfg of the '
            f'backbone and decode head to None.')


def load_sam_state_dict(filename: str) -> Dict[str, Tensor]:
    """Read a whole-SAM state dict (``image_encoder.*``, ``mask_decoder.*``,
    ``prompt_encoder.*``) as released, without any conversion step.

    ``weights_only=True``: the official files hold plain tensors only.
    """
    from ...engine.checkpoint_io import read_checkpoint  # names bad files
    if not osp.isfile(filename):
        raise FileNotFoundError(_missing_file_message(filename))
    ckpt = read_checkpoint(filename, map_location='cpu')
    for key in ('state_dict', 'model'):  # tolerate wrapped exports
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
    if not isinstance(ckpt, dict):
        raise TypeError(f'{filename}: expected a state dict, got '
                        f'{type(ckpt).__name__}')
    return ckpt


def load_state_dict_checked(module: nn.Module,
                            state_dict: Dict[str, Tensor],
                            source: str,
                            key_prefix: str = '',
                            allow_missing: Optional[Callable[[str],
                                                             bool]] = None):
    """Load ``state_dict`` (already stripped of ``key_prefix``) into
    ``module``.

    A shape mismatch means the checkpoint belongs to another architecture:
    fail on the first one, naming key and shapes. Missing and unexpected keys
    are logged; keys accepted by ``allow_missing`` (new parameters such as
    PEFT modules) are logged at info level only.
    """
    logger = MMLogger.get_current_instance()
    own = module.state_dict()
    for key, value in state_dict.items():
        if key in own and own[key].shape != value.shape:
            raise ValueError(
                f'{source}: {key_prefix + key!r} has shape '
                f'{tuple(value.shape)} in the checkpoint but '
                f'{tuple(own[key].shape)} in {type(module).__name__}. The '
                f'checkpoint was made for a different architecture (e.g. '
                f'ViT-L weights for a ViT-B model); pick the matching arch or '
                f'checkpoint.')
    missing, unexpected = module.load_state_dict(state_dict, strict=False)
    allow_missing = allow_missing or (lambda key: False)
    new = [k for k in missing if allow_missing(k)]
    missing = [k for k in missing if not allow_missing(k)]
    logger.info(f'Loaded {len(state_dict) - len(unexpected)} tensors into '
                f'{type(module).__name__} from {source}.')
    if new:
        logger.info(f'Not in the checkpoint, kept as initialised: {new}')
    if missing:
        logger.warning(f'Missing in {source}: {missing}')
    if unexpected:
        logger.warning(f'Unused from {source}: {unexpected}')
    return missing, unexpected
