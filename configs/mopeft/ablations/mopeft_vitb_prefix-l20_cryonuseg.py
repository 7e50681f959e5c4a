_base_ = '../mopeft_vitb_cryonuseg.py'
model = dict(backbone=dict(peft=dict(prefix=dict(length=20))))
