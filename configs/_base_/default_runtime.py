default_scope = 'mmseg'
custom_imports = dict(imports=['mmseg_mopeft'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# SegVisualizer: mmseg's SegLocalVisualizer fixed for our OpenCV, plus a
# TensorBoard switch: --cfg-options visualizer.tensorboard=True
visualizer = dict(
    type='SegVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='SegTTAModel')
# IterationSeedHook and the datasets' SeededInfiniteSampler make random draws
# follow from (seed, iteration, rank) and (seed, pass, sample): exact resume,
# augmentation independent of ranks and data-loader workers.
custom_hooks = [
    # on CPUs: glibc malloc keeps freed memory (fewer page faults per step)
    dict(type='CPUMallocHook'),
    dict(type='TrainableParamsHook'),
    dict(type='IterationSeedHook'),
    # config/dataset class counts agree; sam_checkpoint is what the model
    # loads, prompt_seed what it draws with; checkpoints fill the model;
    # atomic checkpoint writes and a --resume that skips broken files; no
    # epoch loop over an infinite sampler
    dict(type='NumClassesCheckHook'),
    dict(type='SAMCheckpointCheckHook'),
    dict(type='ConfigVariablesCheckHook'),
    dict(type='TrainLoopCheckHook'),
    dict(type='CheckpointKeysCheckHook'),
    dict(type='CheckpointRecoveryHook'),
]
