# MoPEFT: LoRA, prefix tuning and adapters in every block, each behind a
# learned per-sample gate; mask decoder fine-tuned. LoRA's alpha stays 8 when
# the rank changes (the rank ablations scale alpha / rank).
_base_ = './decoder_ft_vitb.py'
model = dict(
    backbone=dict(
        peft=dict(
            lora=dict(rank=8, alpha=8),
            prefix=dict(length=20),
            adapter=dict(dim=64),
            gated=True)))
