"""SAM + parameter-efficient fine-tuning for MMSegmentation.

Importing the package registers its models, datasets and hooks in mmseg's
registries (configs do it via ``custom_imports``).
"""
from . import datasets, engine, models  # noqa: F401  (registration)
from .version import __version__

__all__ = ['__version__']
