"""SAM + parameter-efficient fine-tuning for MMSegmentation.

Importing the package registers its models, datasets and hooks in mmseg's
registries (configs do it via ``custom_imports``).
"""
from . import registry  # noqa: F401 (scope 'mmseg_mopeft')
from . import visualization  # noqa: F401,E402 (registry)
from . import datasets, engine, evaluation, models  # noqa: F401 (registry)
from .version import __version__

__all__ = ['__version__']
