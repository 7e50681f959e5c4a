_base_ = [
    '../_base_/methods/ssf_vitb.py',
    '../_base_/datasets/mess/floodnet.py',
]
model = dict(decode_head=dict(num_classes=10))
