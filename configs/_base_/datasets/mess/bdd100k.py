# BDD100K (General); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='MESSBDD100KDataset', data_root='data/bdd100k')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
