# Kvasir-Instrument (Medical Sciences); data from prepare_mess.py
_base_ = ['./mess_1024.py']
dataset = dict(
    type='KvasirInstrumentDataset', data_root='data/kvasir_instrument')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)
