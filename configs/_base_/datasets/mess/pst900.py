# PST900 (Engineering); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='PST900Dataset', data_root='data/pst900')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
