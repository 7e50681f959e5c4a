# SAM ViT-B (frozen) under mmseg's UPerHead: four block outputs at 1/16
# become a 1/4..1/32 pyramid through MultiLevelNeck.
_base_ = [
    '../_base_/models/sam_vit-b.py', '../_base_/datasets/mess/cryonuseg.py',
    '../_base_/schedules/schedule_10k.py', '../_base_/default_runtime.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(out_indices=(2, 5, 8, 11), with_neck=False, frozen=True),
    neck=dict(
        type='MultiLevelNeck',
        in_channels=[768, 768, 768, 768],
        out_channels=768,
        scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
