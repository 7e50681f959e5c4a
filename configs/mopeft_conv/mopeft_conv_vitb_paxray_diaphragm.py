_base_ = [
    '../_base_/methods/mopeft_conv_vitb.py',
    '../_base_/datasets/mess/paxray_diaphragm.py',
]
model = dict(
    backbone=dict(peft=dict(conv_lora=dict(loss_weight=1.0))),
    decode_head=dict(num_classes=2))
