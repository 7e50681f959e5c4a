# CHASE DB1 (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='MESSChaseDB1Dataset', data_root='data/chase_db1')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
