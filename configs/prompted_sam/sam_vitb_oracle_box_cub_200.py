_base_ = [
    '../_base_/prompted_sam/sam_vitb.py',
    '../_base_/datasets/mess/cub_200.py',
]
model = dict(test_modes=['oracle_box'])
test_evaluator = dict(
    type='PromptIoUMetric', pred_key='pred_oracle_box', prefix='oracle_box')
