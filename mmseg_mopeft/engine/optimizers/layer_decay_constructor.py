"""Layer-wise learning-rate decay for full fine-tuning, through mmpretrain.

Imported by the configs that use it (``custom_imports``), so that importing
``mmseg_mopeft`` does not import mmpretrain.
"""
from functools import partial

from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SegLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's constructor for an mmseg segmentor.

    mmpretrain asks the model itself for ``get_layer_depth``; a segmentor
    has none, its backbone has (``SAMViT.get_layer_depth``: embeddings 0,
    block i at i + 1, the rest last). Parameter ``p`` then trains at
    ``lr * layer_decay_rate ** (num_layers - 1 - depth(p))``: the last
    block at ``lr * rate``, the first at ``lr * rate ** depth``; the neck
    and the decode head, outside the backbone, at ``lr``.
    """

    def add_params(self, params, module, prefix='', get_layer_depth=None,
                   **kwargs) -> None:
        if get_layer_depth is None and not prefix:
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'{type(self).__name__}: {type(module).__name__} needs a '
                    'backbone with get_layer_depth(param_name, prefix) '
                    '(SAMViT has one)')
            get_layer_depth = partial(
                backbone.get_layer_depth, prefix='backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
