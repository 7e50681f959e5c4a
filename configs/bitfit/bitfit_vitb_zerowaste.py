_base_ = [
    '../_base_/methods/bitfit_vitb.py',
    '../_base_/datasets/mess/zerowaste.py',
]
model = dict(decode_head=dict(num_classes=5))
