# Dark Zurich (General); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='MESSDarkZurichDataset', data_root='data/dark_zurich')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
