_base_ = [
    '../_base_/methods/full_ft_vitb.py', '../_base_/datasets/mess/cryonuseg.py'
]
