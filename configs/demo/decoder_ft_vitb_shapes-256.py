# The decoder-only variant of the demo (`make demo` runs the MoPEFT one): SAM
# ViT-B at 256 px on the generated Shapes dataset, encoder frozen.
_base_ = [
    '../_base_/methods/decoder_ft_vitb.py', '../_base_/datasets/shapes_256.py'
]
model = dict(
    data_preprocessor=dict(size=(256, 256), test_cfg=dict(size=(256, 256))),
    backbone=dict(img_size=256),
    decode_head=dict(num_classes=3))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='PolyLR', power=1.0, eta_min=0, begin=0, end=100, by_epoch=False)
]
train_cfg = dict(max_iters=100, val_interval=100)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, save_best=None))
