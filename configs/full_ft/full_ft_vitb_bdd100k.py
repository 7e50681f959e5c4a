_base_ = [
    '../_base_/methods/full_ft_vitb.py',
    '../_base_/datasets/mess/bdd100k.py',
]
model = dict(decode_head=dict(num_classes=19))
