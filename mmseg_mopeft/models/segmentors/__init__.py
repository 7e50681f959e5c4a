from .peft_encoder_decoder import PEFTEncoderDecoder
from .prompted_sam import PromptedSAM, parse_mode, pred_field
from .sam_prompt_decoder import MaskAssembler, SAMPromptDecoder, upsample_masks

__all__ = [
    'MaskAssembler', 'PEFTEncoderDecoder', 'PromptedSAM', 'SAMPromptDecoder',
    'parse_mode', 'pred_field', 'upsample_masks'
]
