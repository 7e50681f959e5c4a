# Baseline: SAM encoder frozen, mask decoder fully fine-tuned.
_base_ = [
    '../models/sam_vit-b.py', '../schedules/schedule_10k.py',
    '../default_runtime.py'
]
model = dict(backbone=dict(frozen=True))
