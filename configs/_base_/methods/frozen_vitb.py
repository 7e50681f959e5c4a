# Baseline: SAM encoder and mask decoder frozen; only the query tokens and the
# class branch train.
_base_ = [
    '../models/sam_vit-b.py', '../schedules/schedule_10k.py',
    '../default_runtime.py'
]
model = dict(
    backbone=dict(frozen=True),
    decode_head=dict(freeze_mask_decoder=True))
