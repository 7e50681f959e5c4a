# Baseline: SAM encoder frozen, mask decoder fully fine-tuned.
_base_ = [
    '../models/sam_vit-b.py', '../schedules/schedule_10k.py',
    '../default_runtime.py'
]
model = dict(backbone=dict(frozen=True))
# Checkpoints hold what the run trains (plus optimizer/scheduler state and a
# record of the base SAM file); every load path rebuilds the rest from that
# file. trainable_only=False saves whole models.
default_hooks = dict(
    checkpoint=dict(type='PEFTCheckpointHook', trainable_only=True))
