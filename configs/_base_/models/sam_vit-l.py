_base_ = './sam_vit-b.py'
sam_checkpoint = 'checkpoints/sam_vit_l_0b3195.pth'
model = dict(
    backbone=dict(arch='vit-l', init_cfg=dict(checkpoint=sam_checkpoint)),
    decode_head=dict(init_cfg=dict(checkpoint=sam_checkpoint)))
