# Bottleneck adapters (D_mid 64) on every block's feed-forward output.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            adapter=dict(dim=64))))
