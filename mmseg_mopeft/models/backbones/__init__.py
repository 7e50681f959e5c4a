from .sam_vit import SAMViT

__all__ = ['SAMViT']
