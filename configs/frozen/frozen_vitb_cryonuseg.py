_base_ = [
    '../_base_/methods/frozen_vitb.py', '../_base_/datasets/mess/cryonuseg.py'
]
