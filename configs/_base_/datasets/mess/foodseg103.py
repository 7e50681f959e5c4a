# FoodSeg103 (General); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='FoodSeg103Dataset', data_root='data/foodseg103')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
