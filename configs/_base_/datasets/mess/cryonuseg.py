# CryoNuSeg as written by tools/dataset_converters/prepare_mess.py.
_base_ = ['../sam_1024.py']
dataset = dict(type='CryoNuSegDataset', data_root='data/cryonuseg')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
