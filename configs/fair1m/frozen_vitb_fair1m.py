# Baseline: SAM encoder and mask decoder frozen; only the object queries and
# the class MLP train.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(decode_head=dict(freeze_mask_decoder=True))
