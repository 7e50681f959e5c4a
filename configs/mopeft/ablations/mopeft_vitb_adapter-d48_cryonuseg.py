_base_ = '../mopeft_vitb_cryonuseg.py'
model = dict(backbone=dict(peft=dict(adapter=dict(dim=48))))
