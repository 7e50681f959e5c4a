# One checkpoint, both modes: added to a method config (configs/<method>/...)
# the model keeps its trained semantic head and also answers prompts through
# SAM's original prompt encoder and mask decoder (official weights, frozen)
# on the same encoder, with its tuning on and off. One test run reports
# semantic/, peft_on/<prompt>/ and peft_off/<prompt>/ metrics.
prompt_types = ['oracle_point', 'random_point', 'oracle_box', 'noisy_box']
hybrid_modes = ['semantic'] + [
    f'{peft}/{prompt}' for peft in ('peft_on', 'peft_off')
    for prompt in prompt_types
]
hybrid_model = dict(
    type='PromptedSAM',
    prompt_decoder=dict(checkpoint='checkpoints/sam_vit_b_01ec64.pth'),
    prompt_sampler=dict(per='class', seed=0),
    test_modes=hybrid_modes,
    unclaimed_label=255)
hybrid_evaluator = [
    dict(
        type='PromptIoUMetric',
        iou_metrics=['mIoU'],
        pred_key='pred_' + mode.replace('/', '_'),
        prefix=mode) for mode in hybrid_modes
]
