from .backbones import SAMViT
from .decode_heads import SAMMaskDecoderHead

__all__ = ['SAMViT', 'SAMMaskDecoderHead']
