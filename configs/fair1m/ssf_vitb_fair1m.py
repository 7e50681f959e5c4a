# SSF: a learned per-channel scale and shift after both LayerNorms, the q/k/v
# and output projections and both MLP layers of every block (folded into
# those weights for inference); mask decoder fine-tuned. Starts at identity
# (the reference: N(1, 0.02) scales, N(0, 0.02) shifts, and one more SSF
# after the patch embedding).
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            ssf=dict())))
