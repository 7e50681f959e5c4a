_base_ = [
    '../_base_/methods/mopeft_conv_vitb.py',
    '../_base_/datasets/mess/worldfloods.py',
]
model = dict(
    backbone=dict(peft=dict(conv_lora=dict(loss_weight=2.0))),
    decode_head=dict(num_classes=3))
