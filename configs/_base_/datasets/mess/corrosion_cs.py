# Corrosion CS (Engineering); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='CorrosionCSDataset', data_root='data/corrosion_cs')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
