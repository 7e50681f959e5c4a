_base_ = [
    '../../ssf/ssf_vitb_dram.py',
    '../../_base_/prompted_sam/hybrid.py',
]
model = {{_base_.hybrid_model}}
test_evaluator = {{_base_.hybrid_evaluator}}
