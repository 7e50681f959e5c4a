# SAM ViT-B: encoder as backbone, mask decoder as head, official weights.
# Inputs as in SAM: longest side resized to 1024 (pipeline), padded to
# 1024x1024 at the bottom/right (here; larger inputs to a multiple of 16),
# SAM's RGB mean/std.
sam_checkpoint = 'checkpoints/sam_vit_b_01ec64.pth'
data_preprocessor = dict(
    type='SAMDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(1024, 1024),
    test_cfg=dict(size=(1024, 1024)))
model = dict(
    type='PEFTEncoderDecoder',  # EncoderDecoder + PEFT losses (Conv-LoRA)
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SAMViT',
        arch='vit-b',
        img_size=1024,
        init_cfg=dict(type='Pretrained', checkpoint=sam_checkpoint)),
    decode_head=dict(
        type='SAMMaskDecoderHead',
        in_channels=256,
        init_cfg=dict(type='Pretrained', checkpoint=sam_checkpoint)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
