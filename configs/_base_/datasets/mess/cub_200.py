# CUB-200 (Agriculture and Biology); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='CUB200Dataset', data_root='data/cub_200')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
