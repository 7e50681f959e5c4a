_base_ = [
    '../../conv_lora/conv_lora_vitb_bdd100k.py',
    '../../_base_/prompted_sam/hybrid.py',
]
model = {{_base_.hybrid_model}}
test_evaluator = {{_base_.hybrid_evaluator}}
