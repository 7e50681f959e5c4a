# ZeroWaste-f (Engineering); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='ZeroWasteDataset', data_root='data/zerowaste')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
