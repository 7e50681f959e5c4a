# Paper defaults: AdamW, lr 1e-4, weight decay 1e-4.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=1.0, eta_min=0, begin=0, end=10000,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=1000,
        max_keep_ckpts=3,
        save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# The paper trains with 4 images in total. The learning rate above is for
# that total batch; with auto_scale_lr.enable=True mmengine scales it
# linearly to (GPUs x train_dataloader.batch_size) / 4, e.g. 8x for
# `tools/dist_train.sh CONFIG 8` with 4 images per GPU (32 in total).
auto_scale_lr = dict(enable=False, base_batch_size=4)
