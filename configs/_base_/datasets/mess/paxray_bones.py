# PAXRay-4 (bones) (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='PAXRayBonesDataset', data_root='data/paxray_bones')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
