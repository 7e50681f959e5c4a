_base_ = './sam_vit-b.py'
sam_checkpoint = 'checkpoints/sam_vit_h_4b8939.pth'
model = dict(
    backbone=dict(arch='vit-h', init_cfg=dict(checkpoint=sam_checkpoint)),
    decode_head=dict(init_cfg=dict(checkpoint=sam_checkpoint)))
