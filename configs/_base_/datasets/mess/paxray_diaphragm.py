# PAXRay-4 (diaphragm) (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='PAXRayDiaphragmDataset', data_root='data/paxray_diaphragm')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
