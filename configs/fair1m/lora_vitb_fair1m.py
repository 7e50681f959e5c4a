# LoRA (rank 8) on q and v of every encoder block; mask decoder fine-tuned.
# alpha stays 8 when a child config changes the rank (scale alpha / rank), as
# in the LoRA paper's and HF peft's rank comparisons.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            lora=dict(rank=8, alpha=8))))
