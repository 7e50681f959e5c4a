# MHP v1 (General); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='MHPv1Dataset', data_root='data/mhp_v1')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
