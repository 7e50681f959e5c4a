_base_ = [
    '../_base_/methods/ssf_vitb.py',
    '../_base_/datasets/mess/chase_db1.py',
]
model = dict(decode_head=dict(num_classes=2))
