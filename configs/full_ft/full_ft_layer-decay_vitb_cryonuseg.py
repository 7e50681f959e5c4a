# Full fine-tuning with layer-wise learning-rate decay (mmpretrain's
# constructor): encoder block i (0-11) trains at lr * 0.75 ** (12 - i), the
# patch and position embeddings at lr * 0.75 ** 13, neck and mask decoder
# at lr.
_base_ = ['./full_ft_vitb_cryonuseg.py']
custom_imports = dict(imports=[
    'mmseg_mopeft', 'mmseg_mopeft.engine.optimizers.layer_decay_constructor'
])
optim_wrapper = dict(
    constructor='SegLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
