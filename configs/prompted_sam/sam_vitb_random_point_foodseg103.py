_base_ = [
    '../_base_/prompted_sam/sam_vitb.py',
    '../_base_/datasets/mess/foodseg103.py',
]
model = dict(test_modes=['random_point'])
test_evaluator = dict(
    type='PromptIoUMetric', pred_key='pred_random_point', prefix='random_point')
