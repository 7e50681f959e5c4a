# Conv-LoRA (rank 8) on q, k and v of every encoder block: 8 convolution
# experts in LoRA's bottleneck, picked per attention window by a noisy top-1
# gate; mask decoder fine-tuned. The gate's balance loss joins the training
# loss (weight 1 for binary, 2 for multi-class datasets, as in the paper).
# Scale alpha / rank = 1; AutoGluon's reference runs rank 3, alpha 32 on
# ViT-H (--cfg-options model.backbone.peft.conv_lora.rank=3
# model.backbone.peft.conv_lora.alpha=32).
_base_ = './decoder_ft_vitb_fair1m.py'
model = dict(
    backbone=dict(
        peft=dict(
            conv_lora=dict(rank=8))))
# experts not picked in a step get no gradient
find_unused_parameters = True
