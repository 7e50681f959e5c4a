# VPT (shallow): 20 key/value vectors in the first block only, no MLP.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            prefix=dict(length=20, blocks=[0], mlp_dims=None))))
