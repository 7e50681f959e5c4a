# CWFID (Agriculture and Biology); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='CWFIDDataset', data_root='data/cwfid')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
