# PAXRay-4 (mediastinum) (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='PAXRayMediastinumDataset', data_root='data/paxray_mediastinum')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
