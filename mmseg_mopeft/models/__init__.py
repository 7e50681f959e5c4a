from .backbones import SAMViT
from .data_preprocessors import SAMDataPreProcessor
from .decode_heads import SAMMaskDecoderHead

__all__ = ['SAMViT', 'SAMDataPreProcessor', 'SAMMaskDecoderHead']
from .detectors import SAMDetector  # noqa: E402  (FAIR-1M detection)
from .heads import Masks2BoxesHead  # noqa: E402

__all__ += ['SAMDetector', 'Masks2BoxesHead']
from .prompts import GTPromptSampler  # noqa: E402  (prompted SAM)
from .segmentors import PromptedSAM, SAMPromptDecoder  # noqa: E402

__all__ += ['GTPromptSampler', 'PromptedSAM', 'SAMPromptDecoder']
