# ATLANTIS (General); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='ATLANTISDataset', data_root='data/atlantis')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
