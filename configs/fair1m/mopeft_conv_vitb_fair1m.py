# MoPEFT with Conv-LoRA in place of LoRA: Conv-LoRA, prefix tuning and
# adapters in every block, each behind a learned per-sample gate; mask
# decoder fine-tuned.
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            conv_lora=dict(rank=8),
            prefix=dict(length=20),
            adapter=dict(dim=64),
            gated=True)))
# experts not picked in a step get no gradient
find_unused_parameters = True
