# LoRA (rank 8) on q and v of every encoder block; mask decoder fine-tuned.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            lora=dict(rank=8))))
