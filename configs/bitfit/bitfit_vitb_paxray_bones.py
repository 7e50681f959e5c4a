_base_ = [
    '../_base_/methods/bitfit_vitb.py',
    '../_base_/datasets/mess/paxray_bones.py',
]
model = dict(decode_head=dict(num_classes=2))
