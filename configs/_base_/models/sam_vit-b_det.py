# SAM ViT-B as a detector (FAIR-1M): encoder as backbone, mask decoder with
# object queries, a class MLP and Masks2Boxes as head, official weights.
# Tiles are resized to 1024 px (pipeline) and padded to 1024x1024 (here).
# Detection types live in mmdet's registries: 'mmdet.' finds them from our
# default scope 'mmseg'.
sam_checkpoint = 'checkpoints/sam_vit_b_01ec64.pth'
data_preprocessor = dict(
    type='mmdet.DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=1024,
    pad_mask=True)
model = dict(
    type='mmdet.SAMDetector',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmseg.SAMViT',
        arch='vit-b',
        img_size=1024,
        init_cfg=dict(type='Pretrained', checkpoint=sam_checkpoint)),
    decode_head=dict(
        type='mmdet.Masks2BoxesHead',
        num_classes=37,
        num_queries=300,  # most objects found per tile
        in_channels=256,
        init_cfg=dict(type='Pretrained', checkpoint=sam_checkpoint)))
