# `make demo`: MoPEFT (gated LoRA, prefix tuning and adapters in every block
# of the frozen SAM ViT-B encoder, mask decoder fine-tuned) on the generated
# Shapes dataset at its own 128 px, sized for a 2-core CPU: MoPEFT back-
# propagates through the whole encoder, which at 256 px would take the
# demo past 5 minutes.
_base_ = [
    '../_base_/methods/mopeft_vitb.py', '../_base_/datasets/shapes_256.py'
]
size = 128
model = dict(
    data_preprocessor=dict(
        size=(size, size), test_cfg=dict(size=(size, size))),
    backbone=dict(img_size=size),
    decode_head=dict(num_classes=3))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedAnnotations'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    dict(type='LoadCheckedAnnotations'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='PolyLR', power=1.0, eta_min=0, begin=0, end=100, by_epoch=False)
]
train_cfg = dict(max_iters=100, val_interval=100)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, save_best=None))
