# CryoNuSeg (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='CryoNuSegDataset', data_root='data/cryonuseg')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
