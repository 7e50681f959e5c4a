# Prefix tuning = VPT-Deep: 20 key/value vectors in every block, MLP-
# reparameterised during training; mask decoder fine-tuned.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            prefix=dict(length=20))))
