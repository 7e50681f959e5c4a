# SAM ViT-B (frozen) under mmseg's FCNHead, on SAM's 256-channel neck output.
_base_ = [
    '../_base_/models/sam_vit-b.py', '../_base_/datasets/mess/cryonuseg.py',
    '../_base_/schedules/schedule_10k.py', '../_base_/default_runtime.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(frozen=True),
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=256,
        in_index=-1,
        channels=256,
        num_convs=2,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
